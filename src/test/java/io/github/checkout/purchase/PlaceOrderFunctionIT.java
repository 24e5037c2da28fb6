package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.IntegrationTestSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import io.github.checkout.support.TestInfrastructure;

/** The PostgreSQL functions called directly, from many connections at once. */
class PlaceOrderFunctionIT extends IntegrationTestSupport {

    private static final String PLACE = "select outcome, order_id, stock, error_code from place_order(:key, :user, :item, :qty)";

    @Autowired
    PurchaseGateway gateway;

    @Test
    void calledFrom32ConnectionsOnOneItem_sellsExactlyTheInitialStock() throws Exception {
        UUID item = newItem(100);
        List<Map<String, Object>> results = concurrently(32, 20, (db, thread, i) ->
                place(db, "c32-" + item + "-" + thread + "-" + i, UUID.randomUUID(), item, 1));

        assertThat(results).filteredOn(r -> "ORDER_CREATED".equals(r.get("outcome"))).hasSize(100);
        assertThat(results).filteredOn(r -> "OUT_OF_STOCK".equals(r.get("outcome"))).hasSize(540);
        assertThat(stockOf(item)).isZero();
        assertThat(ordersOf(item)).isEqualTo(100);
    }

    @Test
    void oneKeyFrom16ConnectionsAtOnce_isOneDecision() throws Exception {
        UUID item = newItem(100);
        UUID user = UUID.randomUUID();
        String key = "same-" + item;
        List<Map<String, Object>> results = concurrently(16, 1, (db, thread, i) -> place(db, key, user, item, 1));

        assertThat(results).map(r -> r.get("order_id")).containsOnly(results.get(0).get("order_id")).doesNotContainNull();
        assertThat(stockOf(item)).isEqualTo(99);
        assertThat(ordersOf(item)).isEqualTo(1);
    }

    @Test
    void oneKeyForTwoItemsAtOnce_decidesOnlyOne() throws Exception {
        UUID first = newItem(10);
        UUID second = newItem(10);
        UUID user = UUID.randomUUID();
        String key = "cross-" + first;
        List<Map<String, Object>> results = concurrently(2, 1, (db, thread, i) -> place(db, key, user, thread == 0 ? first : second, 1));

        assertThat(results).map(r -> r.get("outcome")).containsExactlyInAnyOrder("ORDER_CREATED", "REJECTED");
        assertThat(results).map(r -> r.get("error_code")).contains("idempotency_key_reused");
        assertThat(stockOf(first) + stockOf(second)).isEqualTo(19);
    }

    @Test
    void aBatch_decidesLikeOneCallPerRequestInOrder() {
        UUID item = newItem(2);
        UUID user = UUID.randomUUID();
        String key = "batch-" + item;
        var requests = List.of(
                new PurchaseRequested(key + "-a", user, item, 1, null),
                new PurchaseRequested(key + "-a", user, item, 1, null),
                new PurchaseRequested(key + "-b", user, item, 2, null),
                new PurchaseRequested(key + "-c", user, item, 1, null),
                new PurchaseRequested(key + "-a", user, item, 5, null),
                new PurchaseRequested(key + "-d", user, UUID.randomUUID(), 1, null),
                new PurchaseRequested(key + "-e", user, item, -1, null));

        List<PurchaseGateway.Decision> decisions = gateway.decide(requests);

        assertThat(decisions).map(PurchaseGateway.Decision::kind).containsExactly(
                PurchaseOutcome.Kind.ORDER_CREATED, PurchaseOutcome.Kind.ORDER_CREATED, PurchaseOutcome.Kind.OUT_OF_STOCK,
                PurchaseOutcome.Kind.ORDER_CREATED, PurchaseOutcome.Kind.REJECTED, PurchaseOutcome.Kind.REJECTED,
                PurchaseOutcome.Kind.REJECTED);
        assertThat(decisions.get(1)).isEqualTo(decisions.get(0));
        assertThat(decisions).map(PurchaseGateway.Decision::stock).containsExactly(1, 1, 1, 0, null, null, null);
        assertThat(decisions).map(PurchaseGateway.Decision::errorCode).containsExactly(
                null, null, null, null, "idempotency_key_reused", "item_not_found", "invalid_quantity");
        List<PurchaseGateway.Decision> replayed = gateway.decide(requests);
        assertThat(replayed.subList(0, 4)).isEqualTo(decisions.subList(0, 4));
        assertThat(replayed.subList(5, 7)).isEqualTo(decisions.subList(5, 7));
        assertThat(ordersOf(item)).isEqualTo(2);
    }

    private static Map<String, Object> place(JdbcClient db, String key, UUID user, UUID item, int quantity) {
        return db.sql(PLACE).param("key", key).param("user", user).param("item", item).param("qty", quantity)
                .query().singleRow();
    }

    /** One call on the calling thread's own connection, outside the application's pool, in autocommit mode. */
    interface Call {
        Map<String, Object> run(JdbcClient db, int thread, int i);
    }

    private static List<Map<String, Object>> concurrently(int threads, int callsEach, Call call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<Map<String, Object>>>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Callable<List<Map<String, Object>>> task = () -> {
                var connection = new SingleConnectionDataSource(TestInfrastructure.jdbcUrl(),
                        (String) TestInfrastructure.springProperties().get("spring.datasource.username"),
                        (String) TestInfrastructure.springProperties().get("spring.datasource.password"), true);
                try {
                    JdbcClient db = JdbcClient.create(connection);
                    db.sql("select 1").query().singleValue();
                    start.await();
                    List<Map<String, Object>> mine = new ArrayList<>();
                    for (int i = 0; i < callsEach; i++) {
                        mine.add(call.run(db, thread, i));
                    }
                    return mine;
                } finally {
                    connection.destroy();
                }
            };
            futures.add(pool.submit(task));
        }
        start.countDown();
        List<Map<String, Object>> all = new ArrayList<>();
        for (var future : futures) {
            all.addAll(future.get());
        }
        pool.shutdown();
        return all;
    }
}
