package io.github.checkout.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/** The stock ledger: every change of stock is a row of it, whoever makes the change. */
class StockLedgerIT extends IntegrationTestSupport {

    record Row(String reason, int delta, UUID orderId, String refundKey, String operator, String note) {
    }

    @Autowired
    StockOperations stock;

    @Test
    void everyKindOfStockChange_isOneLedgerRowWithItsReasonAndReference() {
        String databaseUser = jdbc.sql("select current_user").query(String.class).single();
        UUID item = newItem(10);
        UUID order = newOrder(item, 3);
        String refundKey = "ledger-refund-" + item;
        jdbc.sql("select * from refund_order(:key, :order, 2, 'customer_return')")
                .param("key", refundKey).param("order", order).query().singleRow();
        assertThat(stock.restock(item, 5, "alice", "pallet 7")).isEqualTo(14);
        assertThat(stock.restock(item, -1, " bob ", null)).isEqualTo(13);
        jdbc.sql("update items set stock = 20 where id = :id").param("id", item).update();

        assertThat(ledgerOf(item)).containsExactly(
                new Row("initial", 10, null, null, databaseUser, null),
                new Row("sales", -3, null, null, null, null),
                new Row("refund", 2, order, refundKey, null, "customer_return"),
                new Row("restock", 5, null, null, "alice", "pallet 7"),
                new Row("correction", -1, null, null, "bob", null),
                new Row("correction", 7, null, null, databaseUser, "direct update of items.stock"));
        assertThat(stockOf(item)).isEqualTo(20).isEqualTo(ledgerOf(item).stream().mapToInt(Row::delta).sum());
        assertThat(jdbc.sql("select order_ids[1] from stock_ledger where item_id = :item and reason = 'sales' and cardinality(order_ids) = 1")
                .param("item", item).query(UUID.class).single()).isEqualTo(order);
    }

    @Test
    void aBatchOfSales_isOneLedgerRowPerItemNamingItsOrdersInTheOrderTheyWereDecided() {
        UUID hot = newItem(4);
        UUID other = newItem(1);
        String prefix = "ledger-batch-" + hot + "-";
        List<UUID> orders = jdbc.sql("""
                        select order_id from place_orders(:keys, :users, :items, :quantities) order by ordinal""")
                .param("keys", new String[] {prefix + 1, prefix + 2, prefix + 3, prefix + 4})
                .param("users", new UUID[] {UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID()})
                .param("items", new UUID[] {hot, other, hot, hot})
                .param("quantities", new Integer[] {1, 1, 3, 1})
                .query(UUID.class).list();
        assertThat(orders.get(3)).as("out of stock: 4 - 1 - 3 leaves none").isNull();

        assertThat(jdbc.sql("""
                        select reason, delta, order_ids from stock_ledger where item_id = :item and reason = 'sales'""")
                .param("item", hot)
                .query((rs, n) -> tuple(rs.getString("reason"), rs.getInt("delta"), List.of((Object[]) rs.getArray("order_ids").getArray())))
                .list()).containsExactly(tuple("sales", -4, List.of(orders.get(0), orders.get(2))));
        assertThat(ledgerOf(hot)).hasSize(2);
        assertThat(ledgerOf(other)).extracting(Row::reason, Row::delta).containsExactly(tuple("initial", 1), tuple("sales", -1));
        assertThat(stockOf(hot)).isZero();
    }

    @Test
    void anItemWithOrdersCannotBeDeleted_oneWithoutTakesItsLedgerAlong() {
        UUID sold = newItem(3);
        newOrder(sold, 1);
        assertThatThrownBy(() -> jdbc.sql("delete from items where id = :id").param("id", sold).update())
                .isInstanceOf(DataAccessException.class).hasMessageContaining("has orders");
        assertThat(stockOf(sold)).isEqualTo(2);

        UUID unsold = newItem(3);
        assertThat(jdbc.sql("delete from items where id = :id").param("id", unsold).update()).isEqualTo(1);
        assertThat(jdbc.sql("select count(*) from stock_ledger where item_id = :id").param("id", unsold)
                .query(Integer.class).single()).isZero();
    }

    @Test
    void restock_refusesAnUnknownItemAZeroDeltaAMissingOperatorAndGoingBelowZeroOrPastTheMaximum() {
        UUID item = newItem(3);

        assertThatThrownBy(() -> stock.restock(UUID.randomUUID(), 5, "alice", null))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("no item");
        assertThatThrownBy(() -> stock.restock(item, 0, "alice", null))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("must not be 0");
        assertThatThrownBy(() -> stock.restock(item, 5, " ", null))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("operator are required");
        assertThatThrownBy(() -> stock.restock(item, -4, "alice", null))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("below zero");
        assertThatThrownBy(() -> stock.restock(item, Integer.MAX_VALUE - 2, "alice", null))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("past 2147483647");
        assertThat(stock.restock(item, -3, "alice", "count")).isZero();
        assertThat(ledgerOf(item)).map(Row::reason).containsExactly("initial", "correction");
    }

    @Test
    void restocksRacingBuyersOfTheSameItem_keepStockEqualToItsLedger() throws Exception {
        UUID item = newItem(0);
        List<Integer> answers = Concurrently.onOwnConnections(8, 25, (db, thread, i) -> thread % 2 == 0
                ? db.sql("select restock_item(:item, 1, 'racer', null)").param("item", item).query(Integer.class).single()
                : db.sql("select count(order_id)::int from place_order(:key, :user, :item, 1)")
                        .param("key", "ledger-race-" + item + "-" + thread + "-" + i).param("user", UUID.randomUUID())
                        .param("item", item).query(Integer.class).single());

        assertThat(answers).hasSize(8 * 25);
        assertThat(stockOf(item)).isEqualTo(100 - ordersOf(item))
                .isEqualTo(ledgerOf(item).stream().mapToInt(Row::delta).sum());
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void migratingToTheLedger_reconstructsTheHistoryOfItemsAndOrdersThatExistBeforeIt() {
        String schema = "before_ledger_" + UUID.randomUUID().toString().replace("-", "");
        SingleConnectionDataSource connection = Concurrently.connection();
        Flyway untilV1 = versionedMigrationsUpTo(connection, schema, "1");
        Flyway latest = allMigrations(connection, schema);
        try {
            untilV1.migrate();
            JdbcClient db = JdbcClient.create(connection);
            useSchema(db, schema);
            UUID sold = UUID.randomUUID();
            UUID restocked = UUID.randomUUID();
            db.sql("insert into items (id, stock) values (:sold, 5), (:restocked, 0)")
                    .param("sold", sold).param("restocked", restocked).update();
            UUID first = db.sql("select order_id from place_order('a', gen_random_uuid(), :item, 2)").param("item", sold)
                    .query(UUID.class).single();
            UUID second = db.sql("select order_id from place_order('b', gen_random_uuid(), :item, 1)").param("item", sold)
                    .query(UUID.class).single();
            db.sql("update items set stock = 4 where id = :id").param("id", restocked).update();

            latest.migrate();

            useSchema(db, schema);
            assertThat(ledgerOf(db, sold)).extracting(Row::reason, Row::delta, Row::orderId).containsExactly(
                    tuple("initial", 5, null),
                    tuple("sale", -2, first),
                    tuple("sale", -1, second));
            assertThat(ledgerOf(db, restocked)).extracting(Row::reason, Row::delta).containsExactly(
                    tuple("initial", 4));
            assertThat(db.sql("select count(*) from audit_violations()").query(Integer.class).single()).isZero();
        } finally {
            latest.clean();
            connection.destroy();
        }
    }

    private List<Row> ledgerOf(UUID item) {
        return ledgerOf(jdbc, item);
    }

    private static List<Row> ledgerOf(JdbcClient db, UUID item) {
        return db.sql("""
                        select reason, delta, order_id, refund_key, operator, note
                        from stock_ledger where item_id = :item order by id""")
                .param("item", item)
                .query((rs, n) -> new Row(rs.getString("reason"), rs.getInt("delta"), rs.getObject("order_id", UUID.class),
                        rs.getString("refund_key"), rs.getString("operator"), rs.getString("note")))
                .list();
    }
}
