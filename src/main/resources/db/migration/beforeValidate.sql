-- Runs before Flyway validates, so before it creates its history table or migrates anything (validation
-- runs first on every migrate). A database that is not UTF8 is refused: requests carry any Unicode text,
-- and in LATIN1 a schema-valid key holding an emoji would fail in the database on every try and stall its
-- partition. The database's encoding is fixed when it is created, so no migration could repair it.
do $$
begin
    if current_setting('server_encoding') <> 'UTF8' then
        raise exception 'Database "%" is encoded in %, not UTF8. The service stores any Unicode text its requests carry; create the database with: create database % encoding ''UTF8'' template template0',
            current_database(), current_setting('server_encoding'), current_database();
    end if;
end
$$;

-- Released migrations never change. V1 to V5 were nonetheless edited after they first landed, and a
-- database that an earlier release migrated records that release's checksum, which Flyway would refuse
-- ("Migration checksum mismatch"). Each row below is a version, the checksum an earlier release of it
-- recorded, and the checksum of the file as released now. The edits changed function bodies, which the
-- repeatable migrations replace whatever an earlier release left, and once a foreign key, which V7
-- drops. Only these exact pairs are accepted; any other mismatch still stops the start.
do $$
declare
    history regclass := to_regclass(format('%I.%I', '${flyway:defaultSchema}', '${flyway:table}'));
begin
    if history is not null then
        execute format($sql$
            update %s h set checksum = r.released
            from (values ('1', 943582077, -2059787462),
                         ('2', -1901525005, -1931225197), ('2', -265726148, -1931225197), ('2', -187102324, -1931225197),
                         ('3', -588073109, -1115602367),
                         ('4', -1856979263, 517468090),
                         ('5', 543225454, -1228450592)) as r(version, earlier, released)
            where h.version = r.version and h.checksum = r.earlier$sql$, history);
    end if;
end
$$;
