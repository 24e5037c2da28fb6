package io.github.checkout.purchase;

import static io.github.checkout.support.DecideCalls.decidePurchases;
import static io.github.checkout.support.DecideCalls.decideRefunds;
import static io.github.checkout.support.DecideCalls.retried;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.DecideCalls.Line;
import io.github.checkout.support.DecideCalls.Purchase;
import io.github.checkout.support.DecideCalls.PurchaseAnswer;
import io.github.checkout.support.DecideCalls.Refund;
import io.github.checkout.support.DecideCalls.RefundAnswer;
import io.github.checkout.support.IntegrationTestSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Carts, single-item purchases, refunds and restocks on few items with little stock, from 8 connections at
 * once, straight through the database functions: nothing oversold, no deadlock, every request decided once,
 * and every item's stock accounted for by the answers and by its ledger.
 */
class CartStressIT extends IntegrationTestSupport {

    private static final int THREADS = 8;
    private static final int CARTS = 2_000;
    private static final int ITEMS = 20;
    private static final int INITIAL = 30;

    /** An order the stress created: its id and its lines, for refunds to pick from. */
    private record Order(UUID id, List<UUID> items) {
    }

    @Test
    void cartsSinglesRefundsAndRestocksAtOnce_neverOversellNeverDeadlockAndAddUpPerItem() throws Exception {
        String run = "stress-" + UUID.randomUUID();
        List<UUID> items = IntStream.range(0, ITEMS).mapToObj(i -> newItem(INITIAL)).toList();
        long deadlocksBefore = deadlocks();
        AtomicInteger cartsLeft = new AtomicInteger(CARTS);
        Queue<String> errors = new ConcurrentLinkedQueue<>();
        List<Order> orders = new ArrayList<>();
        Map<String, UUID> orderOfKey = new ConcurrentHashMap<>();
        Map<UUID, Integer> sold = new ConcurrentHashMap<>();
        Map<UUID, Integer> refunded = new ConcurrentHashMap<>();
        Map<UUID, Integer> restocked = new ConcurrentHashMap<>();
        AtomicInteger purchaseKeys = new AtomicInteger();
        AtomicInteger refundKeys = new AtomicInteger();
        Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        // A broken build can be slow (each deadlock costs the server's deadlock_timeout): stop early then.
        long deadline = start + Duration.ofSeconds(60).toNanos();

        Concurrently.onOwnConnections(THREADS, 1, (db, thread, ignored) -> {
            Random random = new Random(1_000L * thread + 7);
            List<Purchase> mine = new ArrayList<>();
            int n = 0;
            while (cartsLeft.get() > 0 && errors.size() < 20 && System.nanoTime() < deadline) {
                int op = random.nextInt(10);
                if (op < 5) {
                    List<Purchase> batch = new ArrayList<>();
                    int size = 1 + random.nextInt(20);
                    for (int r = 0; r < size; r++) {
                        if (!mine.isEmpty() && random.nextInt(20) == 0) {
                            batch.add(mine.get(random.nextInt(mine.size())));  // delivered again
                        } else if (random.nextBoolean() && cartsLeft.getAndDecrement() > 0) {
                            List<Line> lines = new ArrayList<>();
                            for (int l = 0, count = 1 + random.nextInt(5); l < count; l++) {
                                lines.add(new Line(items.get(random.nextInt(ITEMS)), 1 + random.nextInt(3)));
                            }
                            batch.add(Purchase.cart(run + "-p-" + thread + "-" + n++, UUID.randomUUID(), lines));
                        } else {
                            batch.add(Purchase.single(run + "-p-" + thread + "-" + n++, UUID.randomUUID(),
                                    items.get(random.nextInt(ITEMS)), 1 + random.nextInt(3)));
                        }
                    }
                    List<PurchaseAnswer> answers = retried(errors, () -> decidePurchases(db, batch));
                    if (answers == null) {
                        continue;
                    }
                    for (int r = 0; r < batch.size(); r++) {
                        Purchase request = batch.get(r);
                        PurchaseAnswer answer = answers.get(r);
                        if (answer.replayed()) {
                            if (!Objects.equals(answer.orderId(), orderOfKey.get(request.key()))) {
                                errors.add("replay of " + request.key() + " answered with another order: " + answer);
                            }
                            continue;
                        }
                        mine.add(request);
                        purchaseKeys.incrementAndGet();
                        counts.computeIfAbsent((request.cart() ? "cart " : "single ") + answer.outcome(), k -> new AtomicInteger())
                                .incrementAndGet();
                        if (answer.outcome().equals("ORDER_CREATED")) {
                            orderOfKey.put(request.key(), answer.orderId());
                            List<UUID> lineItems = request.cart() ? answer.lineItems() : List.of(request.lines().get(0).item());
                            List<Integer> quantities = request.cart() ? answer.lineQuantities() : List.of(request.lines().get(0).quantity());
                            for (int l = 0; l < lineItems.size(); l++) {
                                sold.merge(lineItems.get(l), quantities.get(l), Integer::sum);
                            }
                            synchronized (orders) {
                                orders.add(new Order(answer.orderId(), lineItems));
                            }
                        }
                    }
                } else if (op < 8) {
                    List<Refund> batch = new ArrayList<>();
                    synchronized (orders) {
                        for (int r = 0, size = 1 + random.nextInt(5); r < size && !orders.isEmpty(); r++) {
                            Order order = orders.get(random.nextInt(orders.size()));
                            UUID line = random.nextBoolean() ? null : order.items().get(random.nextInt(order.items().size()));
                            Integer quantity = line != null && random.nextBoolean() ? 1 : null;
                            batch.add(new Refund(run + "-r-" + thread + "-" + n++, order.id(), line, quantity, "customer_return"));
                        }
                    }
                    if (batch.isEmpty()) {
                        continue;
                    }
                    List<RefundAnswer> answers = retried(errors, () -> decideRefunds(db, batch));
                    if (answers == null) {
                        continue;
                    }
                    refundKeys.addAndGet(batch.size());
                    for (RefundAnswer answer : answers) {
                        counts.computeIfAbsent("refund " + answer.outcome(), k -> new AtomicInteger()).incrementAndGet();
                        if (answer.outcome().equals("ORDER_REFUNDED")) {
                            if (answer.lineItems() == null) {
                                refunded.merge(answer.itemId(), answer.quantity(), Integer::sum);
                            } else {
                                for (int l = 0; l < answer.lineItems().size(); l++) {
                                    refunded.merge(answer.lineItems().get(l), answer.lineQuantities().get(l), Integer::sum);
                                }
                            }
                        }
                    }
                } else {
                    UUID item = items.get(random.nextInt(ITEMS));
                    int delta = 10 + random.nextInt(31);
                    Integer stock = retried(errors, () -> db.sql("select restock_item(:item, :delta, 'stress')")
                            .param("item", item).param("delta", delta).query(Integer.class).single());
                    if (stock != null) {
                        restocked.merge(item, delta, Integer::sum);
                        counts.computeIfAbsent("restock", k -> new AtomicInteger()).incrementAndGet();
                    }
                }
            }
            return null;
        });
        long elapsed = Duration.ofNanos(System.nanoTime() - start).toMillis();

        System.out.printf("CartStressIT: %d carts, %d orders, %d out of stock, %d refunds, %d restocks, %d ms; %s%n",
                CARTS, orderOfKey.size(), count(counts, "cart OUT_OF_STOCK") + count(counts, "single OUT_OF_STOCK"),
                count(counts, "refund ORDER_REFUNDED"), count(counts, "restock"), elapsed, new java.util.TreeMap<>(counts));
        assertThat(errors).as("exceptions and wrong replays (40P01: a deadlock)").isEmpty();
        assertThat(cartsLeft.get()).as("carts left unsent after a minute").isNotPositive();
        assertThat(count(counts, "cart ORDER_CREATED")).as("carts ordered").isPositive();
        assertThat(count(counts, "cart OUT_OF_STOCK")).as("carts out of stock").isPositive();
        assertThat(count(counts, "refund ORDER_REFUNDED")).as("refunds").isPositive();
        // Deadlocks the server detected, whoever got the error; statistics reach the view within a second or so.
        await("no deadlock counted").during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(5))
                .until(() -> deadlocks() == deadlocksBefore);

        assertThat(jdbc.sql("select count(*) from purchase_decisions where idempotency_key like :run")
                .param("run", run + "-p-%").query(Integer.class).single()).as("one decision per purchase key").isEqualTo(purchaseKeys.get());
        assertThat(jdbc.sql("select count(*) from refund_decisions where idempotency_key like :run")
                .param("run", run + "-r-%").query(Integer.class).single()).as("one decision per refund key").isEqualTo(refundKeys.get());
        Map<UUID, Map<String, Integer>> ledger = ledgerOf(jdbc, items);
        for (UUID item : items) {
            int stock = stockOf(item);
            assertThat(stock).isNotNegative();
            int s = sold.getOrDefault(item, 0);
            int r = refunded.getOrDefault(item, 0);
            int in = restocked.getOrDefault(item, 0);
            assertThat(stock + s - r).as("stock + sold - refunded of %s", item).isEqualTo(INITIAL + in);
            assertThat(ledger.get(item)).as("ledger of %s", item)
                    .isEqualTo(Map.of("initial", INITIAL, "sales", -s, "refund", r, "restock", in));
        }
        assertThat(auditViolations()).isEmpty();
    }

    /** Per item, the sum of its ledger rows per reason, the reasons it has none of as 0. */
    private static Map<UUID, Map<String, Integer>> ledgerOf(JdbcClient db, List<UUID> items) {
        Map<UUID, Map<String, Integer>> ledger = new HashMap<>();
        for (UUID item : items) {
            ledger.put(item, new HashMap<>(Map.of("initial", 0, "sales", 0, "refund", 0, "restock", 0)));
        }
        db.sql("select item_id, reason, sum(delta)::integer as total from stock_ledger where item_id in (:items) group by item_id, reason")
                .param("items", items).query((rs, n) -> ledger.get(rs.getObject("item_id", UUID.class))
                        .put(rs.getString("reason"), rs.getInt("total"))).list();
        return ledger;
    }

    private static int count(Map<String, AtomicInteger> counts, String name) {
        return counts.getOrDefault(name, new AtomicInteger()).get();
    }
}
