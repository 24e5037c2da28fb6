package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/** V5, which makes each order the decision that created it, run on a schema of its own that already has orders. */
class OrdersMigrationIT extends IntegrationTestSupport {

    @Test
    void everyOrderKeepsItsIdStateAndRefunds_andNewOrdersGetTimeOrderedIds() {
        inSchemaAtV4((db, migrate) -> {
            UUID item = UUID.randomUUID();
            db.sql("insert into items (id, stock) values (:item, 10)").param("item", item).update();
            db.sql("select count(*) from place_orders(array['a', 'b', 'c', 'd'], array_fill(gen_random_uuid(), array[4]),"
                    + " array_fill(:item::uuid, array[4]), array[2, 3, 1, 9])").param("item", item).query().singleValue();
            db.sql("select count(*) from refund_order('r1', (select id from orders where idempotency_key = 'a'), 1, 'dented')")
                    .query().singleValue();
            db.sql("select count(*) from refund_order('r2', (select id from orders where idempotency_key = 'b'), null, 'late')")
                    .query().singleValue();
            List<Map<String, Object>> before = orders(db);

            migrate.run();

            assertThat(orders(db)).isEqualTo(before);
            assertThat(before).extracting(o -> o.get("idempotency_key"), o -> o.get("status"), o -> o.get("refunded_quantity"))
                    .containsExactly(tuple("a", "partially_refunded", 1), tuple("b", "refunded", 3), tuple("c", "created", 0));
            assertThat(db.sql("select outcome from purchase_decisions where idempotency_key = 'd'").query(String.class).single())
                    .isEqualTo("OUT_OF_STOCK");

            // A refund after the migration changes the order through the view.
            db.sql("select count(*) from refund_order('r3', (select id from orders where idempotency_key = 'a'), 1, 'dented')")
                    .query().singleValue();
            assertThat(db.sql("select status from orders where idempotency_key = 'a'").query(String.class).single())
                    .isEqualTo("refunded");

            Map<String, Object> sale = db.sql("select order_id, decided_at from place_order('e', gen_random_uuid(), :item, 1)")
                    .param("item", item).query().singleRow();
            UUID order = (UUID) sale.get("order_id");
            Instant decidedAt = ((Timestamp) sale.get("decided_at")).toInstant();
            assertThat(order.version()).isEqualTo(7);
            assertThat(Instant.ofEpochMilli(order.getMostSignificantBits() >>> 16))
                    .isEqualTo(decidedAt.truncatedTo(ChronoUnit.MILLIS));
            assertThat(db.sql("select count(*) from audit_violations()").query(Integer.class).single()).isZero();
        });
    }

    @Test
    void refusesToMigrate_whenAnOrderAndItsDecisionDisagree() {
        inSchemaAtV4((db, migrate) -> {
            UUID item = UUID.randomUUID();
            db.sql("insert into items (id, stock) values (:item, 10)").param("item", item).update();
            db.sql("select count(*) from place_order('a', gen_random_uuid(), :item, 2)").param("item", item).query().singleValue();
            db.sql("update purchase_decisions set quantity = 3 where idempotency_key = 'a'").update();

            assertThatThrownBy(migrate::run).isInstanceOf(FlywayException.class)
                    .hasMessageContaining("orders and purchase_decisions disagree");

            assertThat(db.sql("select relkind from pg_class where oid = 'orders'::regclass").query(String.class).single())
                    .isEqualTo("r");
            assertThat(db.sql("select count(*) from orders").query(Integer.class).single()).isEqualTo(1);
        });
    }

    /** A test on a schema migrated up to V4; migrate runs the rest and leaves the session in that schema. */
    private interface AtV4 {
        void run(JdbcClient db, Runnable migrate);
    }

    private static void inSchemaAtV4(AtV4 test) {
        String schema = "before_v5_" + UUID.randomUUID().toString().replace("-", "");
        SingleConnectionDataSource connection = Concurrently.connection();
        Flyway latest = allMigrations(connection, schema);
        try {
            versionedMigrationsUpTo(connection, schema, "4").migrate();
            JdbcClient db = JdbcClient.create(connection);
            useSchema(db, schema);
            test.run(db, () -> {
                try {
                    latest.migrate();
                } finally {
                    useSchema(db, schema);
                }
            });
        } finally {
            latest.clean();
            connection.destroy();
        }
    }

    private static List<Map<String, Object>> orders(JdbcClient db) {
        return db.sql("""
                        select id, idempotency_key, user_id, item_id, quantity, status, refunded_quantity, created_at
                        from orders order by idempotency_key""")
                .query().listOfRows();
    }
}
