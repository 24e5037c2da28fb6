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
