package io.github.checkout.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import java.math.BigDecimal;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/** refund_order and refund_orders called directly, from many connections at once. */
class RefundFunctionIT extends IntegrationTestSupport {

    private static final String REFUND = """
            select outcome, item_id, quantity, stock, error_code, decided_at
            from refund_order(:key, :order, :quantity, :reason)""";

    @Autowired
    RefundGateway gateway;

    @Test
    void twoRefundsOfOneOrderAtOnce_restockOnce() throws Exception {
        UUID item = newItem(5);
        UUID order = newOrder(item, 2);
        List<Map<String, Object>> results = Concurrently.onOwnConnections(16, 1,
                (db, thread, i) -> refund(db, "twice-" + order + "-" + thread, order, null, "cancelled"));

        assertThat(results).filteredOn(r -> "ORDER_REFUNDED".equals(r.get("outcome"))).singleElement()
                .satisfies(r -> {
                    assertThat(r.get("quantity")).isEqualTo(2);
                    assertThat(r.get("stock")).isEqualTo(5);
                });
        assertThat(results).filteredOn(r -> "REJECTED".equals(r.get("outcome"))).hasSize(15)
                .allSatisfy(r -> assertThat(r.get("error_code")).isEqualTo("already_refunded"));
        assertThat(stockOf(item)).isEqualTo(5);
        assertThat(refundedOf(order)).isEqualTo(2);
        assertThat(statusOf(order)).isEqualTo("refunded");
    }

    @Test
    void partialRefundsAtOnceAskingMoreThanIsLeft_serveOnlyWhatFitsAndRefuseTheRestWhole() throws Exception {
        UUID item = newItem(10);
        UUID order = newOrder(item, 5);
        List<Map<String, Object>> results = Concurrently.onOwnConnections(16, 1,
                (db, thread, i) -> refund(db, "partial-" + order + "-" + thread, order, 2, "customer_return"));

        assertThat(results).filteredOn(r -> "ORDER_REFUNDED".equals(r.get("outcome"))).hasSize(2)
                .allSatisfy(r -> assertThat(r.get("quantity")).isEqualTo(2));
        assertThat(results).filteredOn(r -> "REJECTED".equals(r.get("outcome"))).hasSize(14)
                .allSatisfy(r -> assertThat(r.get("error_code")).isEqualTo("already_refunded"));
        assertThat(stockOf(item)).isEqualTo(9);
        assertThat(statusOf(order)).isEqualTo("partially_refunded");

        Map<String, Object> rest = refund(jdbc, "rest-" + order, order, null, "customer_return");
        assertThat(rest.get("quantity")).isEqualTo(1);
        assertThat(rest.get("stock")).isEqualTo(10);
        assertThat(statusOf(order)).isEqualTo("refunded");
        assertThat(refund(jdbc, "more-" + order, order, 1, "customer_return").get("error_code")).isEqualTo("already_refunded");
    }

    @Test
    void keyReusedForAnotherQuantityReasonOrOrder_isRejectedChangingAndRecordingNothing() {
        UUID item = newItem(5);
        UUID order = newOrder(item, 2);
        UUID other = newOrder(item, 1);
        String key = "reuse-" + order;
        Map<String, Object> first = refund(jdbc, key, order, 1, "customer_return");

        assertThat(refund(jdbc, key, order, 1, "customer_return")).isEqualTo(first);
        for (Map<String, Object> reused : List.of(
                refund(jdbc, key, order, 2, "customer_return"),
                refund(jdbc, key, order, null, "customer_return"),
                refund(jdbc, key, order, 1, "payment_failed"),
                refund(jdbc, key, other, 1, "customer_return"))) {
            assertThat(reused.get("outcome")).isEqualTo("REJECTED");
            assertThat(reused.get("error_code")).isEqualTo("idempotency_key_reused");
            assertThat(reused.get("item_id")).isEqualTo(item);
        }
        // Answered again identically, its time included: the rejection is derived from the stored decision.
        assertThat(refund(jdbc, key, order, 2, "customer_return")).isEqualTo(refund(jdbc, key, order, 2, "customer_return"))
                .containsEntry("decided_at", first.get("decided_at"));
        assertThat(stockOf(item)).isEqualTo(3);
        assertThat(refundedOf(order)).isEqualTo(1);
        assertThat(refundedOf(other)).isZero();
        assertThat(jdbc.sql("select count(*) from refund_decisions where order_id in (:orders)")
                .param("orders", List.of(order, other)).query(Integer.class).single()).isEqualTo(1);
    }

    @Test
    void unknownOrderAndQuantitiesOutOfRange_areRejectedWithTheirCodesAndRecorded() {
        UUID item = newItem(5);
        UUID order = newOrder(item, 2);
        UUID missing = UUID.randomUUID();

        Map<String, Object> unknown = refund(jdbc, "unknown-" + missing, missing, null, "cancelled");
        assertThat(unknown.get("error_code")).isEqualTo("order_not_found");
        assertThat(unknown.get("item_id")).isNull();
        for (int quantity : new int[] {0, -1, 3, 1001}) {
            Map<String, Object> invalid = refund(jdbc, "invalid-" + order + "-" + quantity, order, quantity, "cancelled");
            assertThat(invalid.get("error_code")).as("quantity %d", quantity).isEqualTo("invalid_quantity");
            assertThat(invalid.get("item_id")).isEqualTo(item);
        }
        assertThat(refund(jdbc, "unknown-" + missing, missing, null, "cancelled")).isEqualTo(unknown);
        assertThat(stockOf(item)).isEqualTo(3);
        assertThat(refundedOf(order)).isZero();
    }

    @Test
    void aRefundThatWouldTakeStockPastTheIntegerMaximum_isRejectedWithItsCodeChangingNothing() {
        UUID item = newItem(5);
        UUID order = newOrder(item, 2);
        jdbc.sql("update items set stock = 2147483647 - 1 where id = :id").param("id", item).update();

        Map<String, Object> refused = refund(jdbc, "past-max-" + order, order, null, "cancelled");

        assertThat(refused).containsEntry("outcome", "REJECTED").containsEntry("error_code", "stock_limit_exceeded")
                .containsEntry("item_id", item);
        assertThat(refund(jdbc, "past-max-" + order, order, null, "cancelled")).isEqualTo(refused);
        assertThat(refund(jdbc, "one-back-" + order, order, 1, "cancelled")).containsEntry("outcome", "ORDER_REFUNDED")
                .containsEntry("stock", Integer.MAX_VALUE);
        assertThat(refundedOf(order)).isEqualTo(1);
    }

    @Test
    void aBatch_decidesLikeOneCallPerRequestInOrder() {
        UUID item = newItem(5);
        UUID order = newOrder(item, 2);
        UUID single = newOrder(item, 1);
        String key = "batch-" + order;
        var requests = List.of(
                new RefundRequested(new IdempotencyKey(key + "-a"), order, 1, RefundRequested.CANCELLED),
                new RefundRequested(new IdempotencyKey(key + "-a"), order, 1, RefundRequested.CANCELLED),
                new RefundRequested(new IdempotencyKey(key + "-b"), order, null, RefundRequested.CANCELLED),
                new RefundRequested(new IdempotencyKey(key + "-c"), order, 1, RefundRequested.CANCELLED),
                new RefundRequested(new IdempotencyKey(key + "-a"), order, 2, RefundRequested.CANCELLED),
                new RefundRequested(new IdempotencyKey(key + "-d"), UUID.randomUUID(), null, RefundRequested.CANCELLED),
                new RefundRequested(new IdempotencyKey(key + "-e"), single, 0, RefundRequested.CANCELLED));

        List<RefundGateway.Decision> decisions = gateway.decide(requests);

        assertThat(decisions).map(RefundGateway.Decision::kind).containsExactly(
                RefundOutcome.Kind.ORDER_REFUNDED, RefundOutcome.Kind.ORDER_REFUNDED, RefundOutcome.Kind.ORDER_REFUNDED,
                RefundOutcome.Kind.REJECTED, RefundOutcome.Kind.REJECTED, RefundOutcome.Kind.REJECTED,
                RefundOutcome.Kind.REJECTED);
        assertThat(decisions.get(1)).usingRecursiveComparison().ignoringFields("replayed").isEqualTo(decisions.get(0));
        assertThat(decisions).map(RefundGateway.Decision::replayed)
                .containsExactly(false, true, false, false, false, false, false);
        assertThat(decisions).map(RefundGateway.Decision::quantity).containsExactly(1, 1, 1, null, null, null, null);
        assertThat(decisions).map(RefundGateway.Decision::stock).containsExactly(3, 3, 4, null, null, null, null);
        assertThat(decisions).map(RefundGateway.Decision::errorCode).containsExactly(
                null, null, null, "already_refunded", "idempotency_key_reused", "order_not_found", "invalid_quantity");
        assertThat(decisions).map(RefundGateway.Decision::itemId).containsExactly(item, item, item, item, item, null, item);
        List<RefundGateway.Decision> replayed = gateway.decide(requests);
        assertThat(replayed.subList(0, 4)).usingRecursiveFieldByFieldElementComparatorIgnoringFields("replayed")
                .isEqualTo(decisions.subList(0, 4));
        assertThat(replayed.subList(5, 7)).usingRecursiveFieldByFieldElementComparatorIgnoringFields("replayed")
                .isEqualTo(decisions.subList(5, 7));
        assertThat(replayed).map(RefundGateway.Decision::replayed).containsExactly(true, true, true, true, false, true, true);
        assertThat(stockOf(item)).isEqualTo(4);
    }

    @Test
    void aBatchOfRefunds_writesEachItemAndEachOrderOnce() {
        UUID item = newItem(10);
        UUID other = newItem(10);
        UUID first = newOrder(item, 3);
        UUID second = newOrder(item, 3);
        UUID third = newOrder(other, 2);
        String key = "once-" + item;
        SingleConnectionDataSource connection = Concurrently.connection();
        connection.setAutoCommit(false);
        try {
            JdbcClient db = JdbcClient.create(connection);
            List<Integer> stocks = db.sql("select stock from refund_orders(:keys, :orders, :quantities, :reasons) order by ordinal")
                    .param("keys", new String[] {key + "-1", key + "-2", key + "-3", key + "-4", key + "-5"})
                    .param("orders", new UUID[] {first, second, first, third, first})
                    .param("quantities", new Integer[] {1, 1, 1, 2, 1})
                    .param("reasons", new String[] {"cancelled", "cancelled", "cancelled", "cancelled", "cancelled"})
                    .query(Integer.class).list();
            // In this transaction: two items, and three orders (decision rows), each written once.
            Map<String, Object> updates = db.sql("""
                            select sum(n_tup_upd) filter (where relname = 'items') as items,
                                   sum(n_tup_upd) filter (where relname = 'purchase_decisions') as orders
                            from pg_stat_xact_user_tables where schemaname = current_schema()""")
                    .query().singleRow();
            db.sql("commit").update();

            assertThat(stocks).containsExactly(5, 6, 7, 10, 8);
            assertThat(updates).containsEntry("items", BigDecimal.valueOf(2)).containsEntry("orders", BigDecimal.valueOf(3));
            assertThat(stockOf(item)).isEqualTo(8);
            assertThat(refundedOf(first)).isEqualTo(3);
            assertThat(statusOf(first)).isEqualTo("refunded");
            assertThat(statusOf(second)).isEqualTo("partially_refunded");
        } finally {
            connection.destroy();
        }
    }

    @Test
    void refundBatchesAndPurchaseBatchesOnSharedItemsAtOnce_neverDeadlockAndAddUp() throws Exception {
        List<UUID> items = List.of(newItem(50), newItem(50), newItem(50));
        List<UUID> orders = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            orders.add(newOrder(items.get(i % 3), 1));
        }
        String run = UUID.randomUUID().toString();

        Concurrently.onOwnConnections(8, 10, (db, thread, round) -> {
            Random random = new Random(31L * thread + round);
            if (thread % 2 == 0) {
                UUID[] batchItems = random.ints(20, 0, 3).mapToObj(items::get).toArray(UUID[]::new);
                return db.sql("select count(*) from place_orders(:keys, :users, :items, :quantities)")
                        .param("keys", keys(run + "-buy-" + thread + "-" + round, 20))
                        .param("users", random.ints(20).mapToObj(n -> UUID.randomUUID()).toArray(UUID[]::new))
                        .param("items", batchItems)
                        .param("quantities", random.ints(20, 1, 2).boxed().toArray(Integer[]::new))
                        .query(Integer.class).single();
            }
            UUID[] batchOrders = random.ints(5, 0, orders.size()).mapToObj(orders::get).toArray(UUID[]::new);
            return db.sql("select count(*) from refund_orders(:keys, :orders, :quantities, :reasons)")
                    .param("keys", keys(run + "-refund-" + thread + "-" + round, 5))
                    .param("orders", batchOrders)
                    .param("quantities", new Integer[5])
                    .param("reasons", new String[] {"cancelled", "payment_failed", "customer_return", "x", "y"})
                    .query(Integer.class).single();
        });

        for (UUID item : items) {
            int sold = jdbc.sql("select coalesce(sum(quantity), 0) from orders where item_id = :item")
                    .param("item", item).query(Integer.class).single();
            int refunded = jdbc.sql("select coalesce(sum(refunded_quantity), 0) from orders where item_id = :item")
                    .param("item", item).query(Integer.class).single();
            assertThat(stockOf(item)).isEqualTo(50 - sold + refunded);
        }
        assertThat(auditViolations()).isEmpty();
    }

    private static String[] keys(String prefix, int n) {
        String[] keys = new String[n];
        for (int i = 0; i < n; i++) {
            keys[i] = prefix + "-" + i;
        }
        return keys;
    }

    private String statusOf(UUID order) {
        return jdbc.sql("select status from orders where id = :id").param("id", order).query(String.class).single();
    }

    private static Map<String, Object> refund(JdbcClient db, String key, UUID order, Integer quantity, String reason) {
        return db.sql(REFUND).param("key", key).param("order", order).param("quantity", quantity, Types.INTEGER)
                .param("reason", reason).query().singleRow();
    }
}
