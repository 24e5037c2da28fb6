package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * Databases that earlier releases migrated start under this one: their data is kept, their functions,
 * triggers and views become the ones in the repeatable migrations, and the schema they end with is the
 * one a new database gets.
 */
class DatabaseUpgradeIT extends IntegrationTestSupport {

    /** Each version whose file an earlier release recorded with another checksum, and that checksum. */
    private static final List<Map.Entry<String, Integer>> EARLIER_CHECKSUMS = List.of(
            Map.entry("1", 943582077),
            Map.entry("2", -1901525005), Map.entry("2", -265726148), Map.entry("2", -187102324),
            Map.entry("3", -588073109),
            Map.entry("4", -1856979263),
            Map.entry("5", 543225454));

    @Test
    void databaseAtV5WithOrdersRefundsAndLedger_upgradesWithNothingLost_toTheSchemaANewDatabaseGets() {
        inNewSchema(db -> {
            String schema = db.sql("select current_schema()").query(String.class).single();
            SingleConnectionDataSource connection = Concurrently.connection();
            try {
                // The database as release b4fd9c7 left it: V1 to V5, V5 with the checksum and the
                // new_order_id() that release had.
                versionedMigrationsUpTo(connection, schema, "5").migrate();
                useSchema(JdbcClient.create(connection), schema);
                JdbcClient old = JdbcClient.create(connection);
                old.sql("update flyway_schema_history set checksum = 543225454 where version = '5'").update();
                old.sql("""
                        create or replace function new_order_id() returns uuid language sql volatile as $$
                            select (lpad(to_hex((extract(epoch from now()) * 1000)::bigint), 12, '0') || '7'
                                    || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid
                        $$""").update();
                UUID camera = UUID.randomUUID();
                UUID lens = UUID.randomUUID();
                old.sql("insert into items (id, stock) values (:camera, 10), (:lens, 1)")
                        .param("camera", camera).param("lens", lens).update();
                old.sql("""
                        select count(*) from place_orders(array['a', 'b', 'c', 'd', 'e'], array_fill(gen_random_uuid(), array[5]),
                                                          array[:camera, :camera, :lens, :lens, :camera]::uuid[], array[2, 3, 1, 1, 0])""")
                        .param("camera", camera).param("lens", lens).query().singleValue();
                old.sql("select count(*) from refund_order('r1', (select id from orders where idempotency_key = 'a'), 1, 'dented')")
                        .query().singleValue();
                old.sql("select count(*) from refund_order('r2', (select id from orders where idempotency_key = 'c'), null, 'late')")
                        .query().singleValue();
                old.sql("select restock_item(:camera, 4, 'alice', 'delivery')").param("camera", camera).query().singleValue();
                old.sql("update items set stock = stock - 1 where id = :camera").param("camera", camera).update();
                Map<String, List<Map<String, Object>>> before = data(old);
                assertThat(before.get("stock_ledger")).hasSize(8);

                allMigrations(connection, schema).migrate();

                useSchema(old, schema);
                assertThat(data(old)).isEqualTo(before);
                assertThat(old.sql("select balance from stock_ledger where item_id = :camera order by id")
                        .param("camera", camera).query(Integer.class).list()).containsExactly(10, 5, 6, 10, 9);
                assertThat(old.sql("select checksum from flyway_schema_history where version = '5'").query(Integer.class).single())
                        .isEqualTo(-1228450592);
                assertThat(old.sql("select count(*) from audit_violations()").query(Integer.class).single()).isZero();

                // Deciding, refunding and correcting by hand go on as in a new database.
                assertThat(old.sql("select outcome from place_order('f', gen_random_uuid(), :lens, 1)").param("lens", lens)
                        .query(String.class).single()).isEqualTo("ORDER_CREATED");
                assertThat(old.sql("select outcome from refund_order('r3', (select id from orders where idempotency_key = 'a'), 1, 'dented')")
                        .query(String.class).single()).isEqualTo("ORDER_REFUNDED");
                old.sql("update items set stock = 7 where id = :lens").param("lens", lens).update();
                assertThat(old.sql("select reason || ' ' || delta || ' ' || balance from stock_ledger where item_id = :lens order by id desc limit 1")
                        .param("lens", lens).query(String.class).single()).isEqualTo("correction 7 7");
                assertThat(old.sql("select count(*) from audit_violations()").query(Integer.class).single()).isZero();

                String fresh = "fresh_" + UUID.randomUUID().toString().replace("-", "");
                try {
                    allMigrations(connection, fresh).migrate();
                    useSchema(old, "public");
                    assertThat(layout(old, schema)).isEqualTo(layout(old, fresh));
                } finally {
                    allMigrations(connection, fresh).clean();
                }
            } finally {
                connection.destroy();
            }
        });
    }

    @Test
    void everyChecksumAnEarlierReleaseRecorded_isAccepted_andNoOther() {
        inNewSchema(db -> {
            String schema = db.sql("select current_schema()").query(String.class).single();
            SingleConnectionDataSource connection = Concurrently.connection();
            try {
                allMigrations(connection, schema).migrate();
                JdbcClient history = JdbcClient.create(connection);
                useSchema(history, schema);
                Map<String, Integer> released = checksums(history);

                for (Map.Entry<String, Integer> earlier : EARLIER_CHECKSUMS) {
                    history.sql("update flyway_schema_history set checksum = :checksum where version = :version")
                            .param("checksum", earlier.getValue()).param("version", earlier.getKey()).update();

                    allMigrations(connection, schema).migrate();

                    useSchema(history, schema);
                    assertThat(checksums(history)).as("after a database recorded %s", earlier).isEqualTo(released);
                }

                history.sql("update flyway_schema_history set checksum = 12345 where version = '3'").update();
                assertThatThrownBy(() -> allMigrations(connection, schema).migrate()).isInstanceOf(FlywayException.class)
                        .hasMessageContaining("checksum mismatch for migration version 3");
            } finally {
                connection.destroy();
            }
        });
    }

    /** Runs the test in a schema of its own (the connection's search_path points there), dropped afterwards. */
    private static void inNewSchema(Consumer<JdbcClient> test) {
        String schema = "upgrade_" + UUID.randomUUID().toString().replace("-", "");
        SingleConnectionDataSource connection = Concurrently.connection();
        try {
            JdbcClient db = JdbcClient.create(connection);
            db.sql("create schema " + schema).update();
            useSchema(db, schema);
            test.accept(db);
        } finally {
            JdbcClient.create(connection).sql("drop schema " + schema + " cascade").update();
            connection.destroy();
        }
    }

    private static Map<String, Integer> checksums(JdbcClient db) {
        return db.sql("select version, checksum from flyway_schema_history where version is not null")
                .query((rs, n) -> Map.entry(rs.getString(1), rs.getInt(2))).list().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    /**
     * Every row a release stores, without the columns later versions add (the ledger's balance, V7; the
     * carts' and refund lines' columns, V8); arrays as text, which compares by value.
     */
    private static Map<String, List<Map<String, Object>>> data(JdbcClient db) {
        return Map.of(
                "items", db.sql("select id, name, stock, created_at from items order by id").query().listOfRows(),
                "purchase_decisions", db.sql("""
                        select idempotency_key, user_id, item_id, quantity, outcome, order_id, stock, error_code, decided_at,
                               status, refunded_quantity
                        from purchase_decisions order by idempotency_key""").query().listOfRows(),
                "refund_decisions", db.sql("""
                        select idempotency_key, order_id, requested_quantity, reason, outcome, item_id, quantity, stock,
                               error_code, decided_at
                        from refund_decisions order by idempotency_key""").query().listOfRows(),
                "orders", db.sql("select * from orders order by id").query().listOfRows(),
                "stock_ledger", db.sql("""
                        select id, item_id, delta, reason, order_id, order_ids::text, refund_key, operator, note, created_at
                        from stock_ledger order by id""").query().listOfRows());
    }

    /** The schema's tables, constraints, indexes, functions, triggers and views, with its name left out. */
    private static List<String> layout(JdbcClient db, String schema) {
        return db.sql("""
                        select 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type || ' '
                               || c.is_nullable || ' ' || coalesce(c.column_default, '')
                        from information_schema.columns c where c.table_schema = :schema
                        union all
                        select 'constraint ' || t.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
                        from pg_constraint k join pg_class t on t.oid = k.conrelid
                        where k.connamespace = :schema::regnamespace
                        union all
                        select 'index ' || i.indexname || ' ' || i.indexdef from pg_indexes i where i.schemaname = :schema
                        union all
                        select 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
                               || md5(replace(pg_get_functiondef(p.oid), :schema, '<schema>'))
                               || ' ' || coalesce(p.proacl::text, 'default')
                        from pg_proc p where p.pronamespace = :schema::regnamespace
                        union all
                        select 'trigger ' || pg_get_triggerdef(g.oid)
                        from pg_trigger g join pg_class t on t.oid = g.tgrelid
                        where t.relnamespace = :schema::regnamespace and not g.tgisinternal
                        union all
                        select 'view ' || v.viewname || ' ' || v.definition from pg_views v where v.schemaname = :schema
                        order by 1""")
                .param("schema", schema).query(String.class).list().stream()
                .map(line -> line.replace(schema + ".", "<schema>."))
                .toList();
    }
}
