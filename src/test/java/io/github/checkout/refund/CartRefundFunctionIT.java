package io.github.checkout.refund;

import static io.github.checkout.support.DecideCalls.decidePurchase;
import static io.github.checkout.support.DecideCalls.decidePurchases;
import static io.github.checkout.support.DecideCalls.decideRefund;
import static io.github.checkout.support.DecideCalls.decideRefunds;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.DecideCalls.Line;
import io.github.checkout.support.DecideCalls.Purchase;
import io.github.checkout.support.DecideCalls.PurchaseAnswer;
import io.github.checkout.support.DecideCalls.Refund;
import io.github.checkout.support.DecideCalls.RefundAnswer;
import io.github.checkout.support.IntegrationTestSupport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** decide_refunds called directly on cart orders: by line, partially or whole, exactly once per key. */
class CartRefundFunctionIT extends IntegrationTestSupport {

    @Test
    void aCartRefundedLineByLineAndThenWhole_putsBackEachLineOnceAndIsAnsweredIdentically() {
        UUID a = newItem(10);
        UUID b = newItem(10);
        UUID c = newItem(10);
        UUID missing = newItem(10);
        UUID order = cartOrder(new Line(a, 3), new Line(b, 2), new Line(c, 1));
        String key = "by-line-" + order;

        RefundAnswer first = decideRefund(jdbc, new Refund(key + "-1", order, a, 1, "customer_return"));
        assertThat(first).usingRecursiveComparison().ignoringFields("decidedAt").isEqualTo(new RefundAnswer(1, "ORDER_REFUNDED",
                a, 1, null, null, null, false, List.of(a), List.of(1), List.of(8)));
        assertThat(statusOf(order)).isEqualTo("partially_refunded");
        RefundAnswer replay = decideRefund(jdbc, new Refund(key + "-1", order, a, 1, "customer_return"));
        assertThat(replay.replayed()).isTrue();
        assertThat(replay.asDecided()).isEqualTo(first.asDecided());
        assertThat(stockOf(a)).isEqualTo(8);

        RefundAnswer restOfA = decideRefund(jdbc, new Refund(key + "-2", order, a, null, "customer_return"));
        assertThat(restOfA.quantity()).isEqualTo(2);
        assertThat(restOfA.lineItems()).containsExactly(a);
        assertThat(restOfA.lineStocks()).containsExactly(10);
        RefundAnswer partOfB = decideRefund(jdbc, new Refund(key + "-3", order, b, 1, "customer_return"));
        assertThat(partOfB.lineStocks()).containsExactly(9);

        Map<String, Refund> rejected = new java.util.LinkedHashMap<>();
        rejected.put("already_refunded/" + a, new Refund(key + "-r1", order, a, null, "customer_return"));
        rejected.put("already_refunded/" + a + " ", new Refund(key + "-r2", order, a, 1, "customer_return"));
        rejected.put("already_refunded/" + b, new Refund(key + "-r3", order, b, 2, "customer_return"));
        rejected.put("invalid_quantity/" + b, new Refund(key + "-r4", order, b, 3, "customer_return"));
        rejected.put("invalid_quantity/" + b + " ", new Refund(key + "-r5", order, b, 0, "customer_return"));
        rejected.put("invalid_quantity/" + c, new Refund(key + "-r6", order, c, 1001, "customer_return"));
        rejected.put("line_not_found/" + missing, new Refund(key + "-r7", order, missing, 1, "customer_return"));
        rejected.put("line_not_found/" + missing + " ", new Refund(key + "-r8", order, missing, null, "customer_return"));
        rejected.put("item_required/null", new Refund(key + "-r9", order, null, 1, "customer_return"));
        rejected.put("order_not_found/" + a, new Refund(key + "-r10", UUID.randomUUID(), a, 1, "customer_return"));
        rejected.put("idempotency_key_reused/" + b, new Refund(key + "-1", order, b, 1, "customer_return"));
        rejected.put("idempotency_key_reused/null", new Refund(key + "-1", order, null, 1, "customer_return"));
        rejected.put("idempotency_key_reused/" + a + " ", new Refund(key + "-1", order, a, 2, "customer_return"));
        List<RefundAnswer> answers = decideRefunds(jdbc, List.copyOf(rejected.values()));
        assertThat(answers).map(r -> r.errorCode() + "/" + r.itemId())
                .containsExactlyElementsOf(rejected.keySet().stream().map(String::strip).toList());
        assertThat(answers).allSatisfy(r -> {
            assertThat(r.outcome()).isEqualTo("REJECTED");
            assertThat(r.lineItems()).isNull();
            assertThat(r.quantity()).isNull();
        });
        assertThat(List.of(stockOf(a), stockOf(b), stockOf(c))).containsExactly(10, 9, 9);

        // The whole order: every line's remainder, in line order, a line with nothing left skipped.
        RefundAnswer whole = decideRefund(jdbc, new Refund(key + "-4", order, null, null, "cancelled"));
        assertThat(whole).usingRecursiveComparison().ignoringFields("decidedAt").isEqualTo(new RefundAnswer(1, "ORDER_REFUNDED",
                null, 2, null, null, null, false, List.of(b, c), List.of(1, 1), List.of(10, 10)));
        assertThat(decideRefund(jdbc, new Refund(key + "-4", order, null, null, "cancelled")).asDecided()).isEqualTo(whole.asDecided());
        assertThat(decideRefund(jdbc, new Refund(key + "-5", order, null, null, "cancelled")).errorCode()).isEqualTo("already_refunded");
        // Replays of the first decisions, lines included, after later refunds of the same lines.
        assertThat(decideRefunds(jdbc, List.of(new Refund(key + "-1", order, a, 1, "customer_return"),
                new Refund(key + "-2", order, a, null, "customer_return"))).stream().map(RefundAnswer::asDecided).toList())
                .containsExactly(first.asDecided(), restOfA.asDecided());

        assertThat(List.of(stockOf(a), stockOf(b), stockOf(c))).containsExactly(10, 10, 10);
        assertThat(statusOf(order)).isEqualTo("refunded");
        assertThat(jdbc.sql("select refunded_quantity || '/' || quantity from purchase_decisions where order_id = :order")
                .param("order", order).query(String.class).single()).isEqualTo("6/6");
        assertThat(jdbc.sql("select item_id || ' ' || refunded_quantity from purchase_lines where order_id = :order order by line_no")
                .param("order", order).query(String.class).list()).containsExactly(a + " 3", b + " 2", c + " 1");
        assertThat(jdbc.sql("""
                        select r.refund_key || ' ' || r.item_id || ' ' || r.quantity || ' ' || r.stock || ' ' || l.delta || ' ' || l.balance
                        from refund_lines r
                        join stock_ledger l on l.refund_key = r.refund_key and l.item_id = r.item_id and l.order_id = r.order_id
                        where r.order_id = :order order by l.id""")
                .param("order", order).query(String.class).list()).containsExactly(
                key + "-1 " + a + " 1 8 1 8", key + "-2 " + a + " 2 10 2 10", key + "-3 " + b + " 1 9 1 9",
                key + "-4 " + b + " 1 10 1 10", key + "-4 " + c + " 1 10 1 10");
        assertThat(jdbc.sql("select count(*) from refund_decisions where idempotency_key like :key")
                .param("key", key + "-%").query(Integer.class).single()).as("every decision but the reused keys'").isEqualTo(15);
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void aWholeOrderRefund_putsBackEveryLinesRemainder_andAQuantityNeedsOneLine() {
        UUID a = newItem(10);
        UUID b = newItem(10);
        UUID order = cartOrder(new Line(a, 4), new Line(b, 5));
        UUID oneLine = cartOrder(new Line(a, 3));
        UUID single = newOrder(b, 2);
        String key = "whole-" + order;

        List<RefundAnswer> answers = decideRefunds(jdbc, List.of(
                new Refund(key + "-1", order, b, 2, "cancelled"),
                new Refund(key + "-2", order, null, 2, "cancelled"),
                new Refund(key + "-3", order, null, null, "cancelled"),
                new Refund(key + "-4", oneLine, null, 2, "cancelled"),
                new Refund(key + "-5", single, null, 1, "cancelled"),
                new Refund(key + "-6", single, b, null, "cancelled")));

        assertThat(answers).map(r -> r.outcome() + "/" + r.errorCode()).containsExactly("ORDER_REFUNDED/null",
                "REJECTED/item_required", "ORDER_REFUNDED/null", "ORDER_REFUNDED/null", "ORDER_REFUNDED/null", "ORDER_REFUNDED/null");
        assertThat(answers.get(2).quantity()).isEqualTo(7);
        assertThat(answers.get(2).lineItems()).containsExactly(a, b);
        assertThat(answers.get(2).lineQuantities()).containsExactly(4, 3);
        // A one-line cart takes a quantity without a line: still a cart's answer, by line.
        assertThat(answers.get(3)).usingRecursiveComparison().ignoringFields("decidedAt").isEqualTo(new RefundAnswer(4,
                "ORDER_REFUNDED", null, 2, null, null, null, false, List.of(a), List.of(2), List.of(9)));
        // A single-item order is answered as before carts, named line or not: no lines, its item and stock.
        assertThat(answers.get(4)).usingRecursiveComparison().ignoringFields("decidedAt").isEqualTo(new RefundAnswer(5,
                "ORDER_REFUNDED", b, 1, 9, null, null, false, null, null, null));
        assertThat(answers.get(5)).usingRecursiveComparison().ignoringFields("decidedAt").isEqualTo(new RefundAnswer(6,
                "ORDER_REFUNDED", b, 1, 10, null, null, false, null, null, null));
        assertThat(statusOf(order)).isEqualTo("refunded");
        assertThat(statusOf(oneLine)).isEqualTo("partially_refunded");
        assertThat(statusOf(single)).isEqualTo("refunded");
        assertThat(stockOf(a)).isEqualTo(10 - 3 + 2);
        assertThat(stockOf(b)).isEqualTo(10);
    }

    @Test
    void cartsRefundedLineByLineWhileOthersBuyTheSameItems_addUpPerItemAndPassTheAudit() throws Exception {
        int initial = 200;
        List<UUID> items = List.of(newItem(initial), newItem(initial), newItem(initial), newItem(initial));
        String run = "concurrent-" + UUID.randomUUID();
        List<PurchaseAnswer> setup = decidePurchases(jdbc, java.util.stream.IntStream.range(0, 20).mapToObj(i -> Purchase.cart(
                run + "-setup-" + i, UUID.randomUUID(), new Line(items.get(i % 4), 2), new Line(items.get((i + 1) % 4), 3),
                new Line(items.get((i + 2) % 4), 1))).toList());
        assertThat(setup).map(PurchaseAnswer::outcome).containsOnly("ORDER_CREATED");
        List<UUID> orders = setup.stream().map(PurchaseAnswer::orderId).toList();

        // Each call returns what it sold (+) and put back (-) per item, read from its answers.
        Map<UUID, Integer> taken = new HashMap<>();
        setup.forEach(answer -> addLines(taken, answer.lineItems(), answer.lineQuantities(), 1));
        List<Map<UUID, Integer>> calls = Concurrently.onOwnConnections(8, 25, (db, thread, round) -> {
            Random random = new Random(97L * thread + round);
            Map<UUID, Integer> mine = new HashMap<>();
            if (thread % 2 == 0) {
                List<Purchase> batch = new ArrayList<>();
                for (int r = 0; r < 1 + random.nextInt(10); r++) {
                    String k = run + "-buy-" + thread + "-" + round + "-" + r;
                    if (random.nextBoolean()) {
                        batch.add(Purchase.single(k, UUID.randomUUID(), items.get(random.nextInt(4)), 1 + random.nextInt(3)));
                    } else {
                        batch.add(Purchase.cart(k, UUID.randomUUID(), new Line(items.get(random.nextInt(4)), 1 + random.nextInt(3)),
                                new Line(items.get(random.nextInt(4)), 1 + random.nextInt(3))));
                    }
                }
                List<PurchaseAnswer> answers = decidePurchases(db, batch);
                for (int r = 0; r < batch.size(); r++) {
                    PurchaseAnswer answer = answers.get(r);
                    if (answer.outcome().equals("ORDER_CREATED")) {
                        Line single = batch.get(r).lines().get(0);
                        addLines(mine, answer.lineItems() != null ? answer.lineItems() : List.of(single.item()),
                                answer.lineQuantities() != null ? answer.lineQuantities() : List.of(single.quantity()), 1);
                    }
                }
                return mine;
            }
            List<Refund> batch = new ArrayList<>();
            for (int r = 0; r < 1 + random.nextInt(5); r++) {
                batch.add(new Refund(run + "-refund-" + thread + "-" + round + "-" + r, orders.get(random.nextInt(orders.size())),
                        items.get(random.nextInt(4)), random.nextBoolean() ? null : 1, "customer_return"));
            }
            for (RefundAnswer answer : decideRefunds(db, batch)) {
                if (answer.outcome().equals("ORDER_REFUNDED")) {
                    addLines(mine, answer.lineItems(), answer.lineQuantities(), -1);
                }
            }
            return mine;
        });
        calls.forEach(call -> call.forEach((item, units) -> taken.merge(item, units, Integer::sum)));

        assertThat(jdbc.sql("select count(*) from refund_lines where refund_key like :run").param("run", run + "-refund-%")
                .query(Integer.class).single()).as("lines refunded concurrently").isPositive();
        for (UUID item : items) {
            assertThat(stockOf(item) + taken.getOrDefault(item, 0)).as("stock + sold - refunded of %s", item).isEqualTo(initial);
            assertThat(jdbc.sql("select coalesce(sum(quantity - refunded_quantity), 0) from order_lines where item_id = :item")
                    .param("item", item).query(Integer.class).single()).as("item %s", item).isEqualTo(taken.getOrDefault(item, 0));
        }
        assertThat(auditViolations()).isEmpty();
    }

    private static void addLines(Map<UUID, Integer> units, List<UUID> items, List<Integer> quantities, int sign) {
        for (int l = 0; l < items.size(); l++) {
            units.merge(items.get(l), sign * quantities.get(l), Integer::sum);
        }
    }

    private UUID cartOrder(Line... lines) {
        PurchaseAnswer answer = decidePurchase(jdbc, Purchase.cart("cart-" + UUID.randomUUID(), UUID.randomUUID(), lines));
        assertThat(answer.outcome()).isEqualTo("ORDER_CREATED");
        return answer.orderId();
    }

    private String statusOf(UUID order) {
        return jdbc.sql("select status from orders where id = :id").param("id", order).query(String.class).single();
    }
}
