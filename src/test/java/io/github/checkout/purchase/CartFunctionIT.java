package io.github.checkout.purchase;

import static io.github.checkout.support.DecideCalls.decidePurchase;
import static io.github.checkout.support.DecideCalls.decidePurchases;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.DecideCalls.Line;
import io.github.checkout.support.DecideCalls.Purchase;
import io.github.checkout.support.DecideCalls.PurchaseAnswer;
import io.github.checkout.support.HeldRowLock;
import io.github.checkout.support.IntegrationTestSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** decide_purchases called directly with carts, as the service's role calls it: all or nothing, once per key. */
class CartFunctionIT extends IntegrationTestSupport {

    @Test
    void twoCartsOverlappingOnTheLastUnitAtTheSameInstant_oneIsOrderedAndTheOtherChangesNothing() throws Exception {
        for (int round = 0; round < 3; round++) {
            UUID shared = newItem(1);
            UUID onlyFirst = newItem(5);
            UUID onlySecond = newItem(5);
            List<Purchase> carts = List.of(
                    Purchase.cart("overlap-a-" + shared, UUID.randomUUID(), new Line(onlyFirst, 2), new Line(shared, 1)),
                    Purchase.cart("overlap-b-" + shared, UUID.randomUUID(), new Line(shared, 1), new Line(onlySecond, 3)));
            // Both queue behind the shared item's row lock, held here, and go once both wait: they overlap for certain.
            var caller = Executors.newSingleThreadExecutor();
            List<PurchaseAnswer> answers;
            try (HeldRowLock lock = HeldRowLock.onItem(shared)) {
                Future<List<PurchaseAnswer>> results = caller.submit(() -> Concurrently.onOwnConnections(2, 1,
                        (db, thread, i) -> decidePurchase(db, carts.get(thread))));
                lock.awaitWaiters(2, "decide_purchases");
                lock.release();
                answers = results.get(30, TimeUnit.SECONDS);
            } finally {
                caller.shutdown();
            }

            assertThat(answers).map(PurchaseAnswer::outcome).containsExactlyInAnyOrder("ORDER_CREATED", "OUT_OF_STOCK");
            int winner = answers.get(0).outcome().equals("ORDER_CREATED") ? 0 : 1;
            PurchaseAnswer lost = answers.get(1 - winner);
            UUID winnersOwn = winner == 0 ? onlyFirst : onlySecond;
            UUID losersOwn = winner == 0 ? onlySecond : onlyFirst;
            assertThat(stockOf(shared)).isZero();
            assertThat(stockOf(winnersOwn)).isEqualTo(winner == 0 ? 3 : 2);
            assertThat(stockOf(losersOwn)).as("the other cart's own item").isEqualTo(5);
            assertThat(lost.orderId()).isNull();
            assertThat(lost.lineItems()).containsExactlyElementsOf(carts.get(1 - winner).lines().stream().map(Line::item).toList());
            assertThat(lost.lineStocks().get(lost.lineItems().indexOf(shared))).isZero();
            assertThat(lost.lineStocks().get(lost.lineItems().indexOf(losersOwn))).isEqualTo(5);
            assertThat(orderLinesOf(losersOwn)).isZero();
            assertThat(ledgerRowsOf(losersOwn)).as("only its initial stock").isEqualTo(1);
            assertThat(ledgerRowsOf(shared)).isEqualTo(2);
        }
    }

    @Test
    void theSameItemOnTwoLines_isSummedBeforeTheStockCheck() {
        UUID item = newItem(5);
        UUID user = UUID.randomUUID();

        PurchaseAnswer tooMany = decidePurchase(jdbc, Purchase.cart("summed-over-" + item, user, new Line(item, 3), new Line(item, 3)));
        assertThat(tooMany.outcome()).isEqualTo("OUT_OF_STOCK");
        assertThat(tooMany.lineItems()).containsExactly(item);
        assertThat(tooMany.lineQuantities()).containsExactly(6);
        assertThat(tooMany.lineStocks()).containsExactly(5);
        assertThat(stockOf(item)).isEqualTo(5);
        assertThat(ledgerRowsOf(item)).isEqualTo(1);

        PurchaseAnswer fits = decidePurchase(jdbc, Purchase.cart("summed-fits-" + item, user, new Line(item, 2), new Line(item, 3)));
        assertThat(fits.outcome()).isEqualTo("ORDER_CREATED");
        assertThat(fits.lineItems()).containsExactly(item);
        assertThat(fits.lineQuantities()).containsExactly(5);
        assertThat(fits.lineStocks()).containsExactly(0);
        assertThat(stockOf(item)).isZero();
        assertThat(jdbc.sql("select line_no || ':' || quantity from order_lines where order_id = :order")
                .param("order", fits.orderId()).query(String.class).list()).containsExactly("1:5");
    }

    @Test
    void aCartWhoseLinesAllFit_isOneOrderWithItsLinesAndOneLedgerRowPerItem() {
        UUID first = newItem(10);
        UUID second = newItem(3);
        UUID third = newItem(7);
        UUID user = UUID.randomUUID();

        PurchaseAnswer answer = decidePurchase(jdbc, Purchase.cart("all-fit-" + first, user,
                new Line(second, 3), new Line(first, 4), new Line(third, 1)));

        assertThat(answer.outcome()).isEqualTo("ORDER_CREATED");
        assertThat(answer.stock()).isNull();
        assertThat(answer.errorCode()).isNull();
        assertThat(answer.replayed()).isFalse();
        assertThat(answer.lineItems()).containsExactly(second, first, third);
        assertThat(answer.lineQuantities()).containsExactly(3, 4, 1);
        assertThat(answer.lineStocks()).containsExactly(0, 6, 6);
        assertThat(answer.lineErrors()).containsExactly(null, null, null);
        assertThat(Map.of(first, stockOf(first), second, stockOf(second), third, stockOf(third)))
                .isEqualTo(Map.of(first, 6, second, 0, third, 6));
        assertThat(jdbc.sql("select item_id, quantity, refunded_quantity, status, lines_digest is not null as cart "
                        + "from purchase_decisions where order_id = :order")
                .param("order", answer.orderId()).query().singleRow())
                .containsEntry("item_id", null).containsEntry("quantity", 8).containsEntry("refunded_quantity", 0)
                .containsEntry("status", "created").containsEntry("cart", true);
        assertThat(jdbc.sql("""
                        select line_no || ' ' || item_id || ' ' || quantity || ' ' || stock || ' ' || refunded_quantity
                        from purchase_lines where order_id = :order order by line_no""")
                .param("order", answer.orderId()).query(String.class).list())
                .containsExactly("1 " + second + " 3 0 0", "2 " + first + " 4 6 0", "3 " + third + " 1 6 0");
        for (UUID item : List.of(first, second, third)) {
            assertThat(jdbc.sql("""
                            select count(*) from stock_ledger
                            where item_id = :item and reason = 'sales' and order_ids = array[:order]::uuid[]""")
                    .param("item", item).param("order", answer.orderId()).query(Integer.class).single())
                    .as("sales rows of %s", item).isOne();
        }
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void oneShortLineAmongSeveral_isOutOfStockTakingNothingFromAnyLine() {
        UUID first = newItem(10);
        UUID short_ = newItem(2);
        UUID third = newItem(10);

        PurchaseAnswer answer = decidePurchase(jdbc, Purchase.cart("one-short-" + first, UUID.randomUUID(),
                new Line(first, 5), new Line(short_, 3), new Line(third, 1)));

        assertThat(answer.outcome()).isEqualTo("OUT_OF_STOCK");
        assertThat(answer.orderId()).isNull();
        assertThat(answer.lineItems()).containsExactly(first, short_, third);
        assertThat(answer.lineQuantities()).containsExactly(5, 3, 1);
        assertThat(answer.lineStocks()).as("available").containsExactly(10, 2, 10);
        assertThat(List.of(stockOf(first), stockOf(short_), stockOf(third))).containsExactly(10, 2, 10);
        for (UUID item : List.of(first, short_, third)) {
            assertThat(ledgerRowsOf(item)).isEqualTo(1);
            assertThat(orderLinesOf(item)).isZero();
        }
        // Stored with its lines, each with the stock that was available, no order.
        assertThat(jdbc.sql("select quantity || ' ' || stock || ' ' || (order_id is null) from purchase_lines where idempotency_key = :key order by line_no")
                .param("key", "one-short-" + first).query(String.class).list()).containsExactly("5 10 true", "3 2 true", "1 10 true");
    }

    @Test
    void invalidCarts_areRejectedWithTheirCodesStoredAndChangeNoStock() {
        UUID item = newItem(2_000);
        UUID other = newItem(2_000);
        UUID unknown = UUID.randomUUID();
        UUID user = UUID.randomUUID();
        String key = "invalid-" + item;
        List<Line> fiftyOne = IntStream.range(0, 51).mapToObj(i -> new Line(item, 1)).toList();
        List<Purchase> carts = List.of(
                Purchase.cart(key + "-empty", user),
                Purchase.cart(key + "-51", user, fiftyOne),
                Purchase.cart(key + "-zero", user, new Line(other, 1), new Line(item, 0)),
                Purchase.cart(key + "-1001", user, new Line(item, 1001), new Line(other, 1)),
                Purchase.cart(key + "-summed", user, new Line(other, 2), new Line(item, 600), new Line(item, 401)),
                Purchase.cart(key + "-unknown", user, new Line(item, 1), new Line(unknown, 1)),
                // The order of checks: a bad quantity before an unknown item, too many lines before anything.
                Purchase.cart(key + "-both", user, new Line(unknown, 1), new Line(item, -1)),
                Purchase.cart(key + "-51-bad", user, concat(fiftyOne, new Line(unknown, 0))),
                Purchase.cart(key + "-50", user, IntStream.range(0, 50).mapToObj(i -> new Line(item, 1)).toList()));

        // Each alone, and again all in one batch: the same answers, replayed.
        List<PurchaseAnswer> alone = carts.stream().map(cart -> decidePurchase(jdbc, cart)).toList();
        List<PurchaseAnswer> batch = decidePurchases(jdbc, carts);

        assertThat(alone).map(a -> a.outcome() + "/" + a.errorCode()).containsExactly(
                "REJECTED/empty_cart", "REJECTED/too_many_lines", "REJECTED/invalid_quantity", "REJECTED/invalid_quantity",
                "REJECTED/invalid_quantity", "REJECTED/item_not_found", "REJECTED/invalid_quantity",
                "REJECTED/too_many_lines", "ORDER_CREATED/null");
        assertThat(alone.get(0).lineItems()).isNull();
        assertThat(alone.get(1).lineItems()).isNull();
        assertThat(alone.get(2).lineItems()).containsExactly(other, item);
        assertThat(alone.get(2).lineErrors()).containsExactly(null, "invalid_quantity");
        assertThat(alone.get(3).lineErrors()).containsExactly("invalid_quantity", null);
        assertThat(alone.get(4).lineItems()).containsExactly(other, item);
        assertThat(alone.get(4).lineQuantities()).containsExactly(2, 1001);
        assertThat(alone.get(4).lineErrors()).containsExactly(null, "invalid_quantity");
        assertThat(alone.get(5).lineItems()).containsExactly(item, unknown);
        assertThat(alone.get(5).lineErrors()).containsExactly(null, "item_not_found");
        assertThat(alone.get(6).lineErrors()).containsExactly(null, "invalid_quantity");
        assertThat(alone.get(7).lineItems()).isNull();
        assertThat(alone.get(8).lineQuantities()).containsExactly(50);
        assertThat(alone.subList(0, 8)).allSatisfy(a -> {
            assertThat(a.orderId()).isNull();
            assertThat(a.lineStocks() == null || a.lineStocks().stream().allMatch(s -> s == null)).isTrue();
        });
        assertThat(batch).map(PurchaseAnswer::replayed).containsOnly(true);
        assertThat(batch).map(PurchaseAnswer::asDecided).isEqualTo(alone.stream().map(PurchaseAnswer::asDecided).toList());
        assertThat(jdbc.sql("select count(*) from purchase_decisions where idempotency_key like :key and outcome = 'REJECTED'")
                .param("key", key + "-%").query(Integer.class).single()).isEqualTo(8);
        assertThat(stockOf(item)).isEqualTo(1_950);
        assertThat(stockOf(other)).isEqualTo(2_000);
    }

    @Test
    void aCartDecidedFiveTimes_isOneOrderAnsweredIdenticallyAndItsKeyCannotBeReused() throws Exception {
        UUID first = newItem(10);
        UUID second = newItem(10);
        UUID user = UUID.randomUUID();
        String key = "five-" + first;
        Purchase cart = Purchase.cart(key, user, new Line(first, 2), new Line(second, 1), new Line(first, 1));

        List<PurchaseAnswer> calls = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            calls.add(decidePurchase(jdbc, cart));
        }
        List<PurchaseAnswer> inOneBatch = decidePurchases(jdbc, List.of(cart, cart, cart, cart, cart));
        String batchKey = "five-batch-" + first;
        Purchase batchCart = Purchase.cart(batchKey, user, new Line(second, 1), new Line(first, 1));
        List<PurchaseAnswer> firstBatch = decidePurchases(jdbc, List.of(batchCart, batchCart, batchCart, batchCart, batchCart));

        PurchaseAnswer decided = calls.get(0);
        assertThat(decided.outcome()).isEqualTo("ORDER_CREATED");
        assertThat(decided.lineItems()).containsExactly(first, second);
        assertThat(decided.lineQuantities()).containsExactly(3, 1);
        assertThat(decided.lineStocks()).containsExactly(7, 9);
        assertThat(calls).map(PurchaseAnswer::replayed).containsExactly(false, true, true, true, true);
        assertThat(inOneBatch).map(PurchaseAnswer::replayed).containsOnly(true);
        assertThat(calls).map(PurchaseAnswer::asDecided).containsOnly(decided.asDecided());
        assertThat(inOneBatch).map(PurchaseAnswer::asDecided).containsOnly(decided.asDecided());
        assertThat(firstBatch).map(PurchaseAnswer::replayed).containsExactly(false, true, true, true, true);
        assertThat(firstBatch).map(PurchaseAnswer::outcome).containsOnly("ORDER_CREATED");
        assertThat(firstBatch).map(PurchaseAnswer::orderId).containsOnly(firstBatch.get(0).orderId());
        assertThat(firstBatch).map(a -> a.decidedAt() + " " + a.lineItems() + a.lineQuantities() + a.lineStocks())
                .containsOnly(firstBatch.get(0).decidedAt() + " " + List.of(second, first) + List.of(1, 1) + List.of(8, 6));

        // The same cart in another order of lines, or split differently, is the same cart.
        for (Purchase same : List.of(
                Purchase.cart(key, user, new Line(second, 1), new Line(first, 3)),
                Purchase.cart(key, user, new Line(first, 1), new Line(first, 1), new Line(second, 1), new Line(first, 1)))) {
            PurchaseAnswer replay = decidePurchase(jdbc, same);
            assertThat(replay.replayed()).isTrue();
            assertThat(replay.asDecided()).isEqualTo(decided.asDecided());
        }
        // Other lines, or another user, under the key: rejected, recording and changing nothing; the same each time.
        for (Purchase reused : List.of(
                Purchase.cart(key, user, new Line(first, 3)),
                Purchase.cart(key, user, new Line(first, 3), new Line(second, 2)),
                Purchase.cart(key, user, new Line(first, 3), new Line(second, 1), new Line(newItem(5), 1)),
                Purchase.cart(key, UUID.randomUUID(), new Line(first, 3), new Line(second, 1)),
                Purchase.single(key, user, first, 3),
                Purchase.cart(key, user))) {
            PurchaseAnswer rejected = decidePurchase(jdbc, reused);
            assertThat(rejected.outcome() + "/" + rejected.errorCode()).as("%s", reused).isEqualTo("REJECTED/idempotency_key_reused");
            assertThat(rejected.replayed()).isFalse();
            assertThat(rejected.lineItems()).isNull();
            assertThat(rejected.decidedAt()).isEqualTo(decided.decidedAt());
            assertThat(decidePurchase(jdbc, reused)).isEqualTo(rejected);
        }
        // And a single item's key reused by a cart.
        String singleKey = "five-single-" + first;
        assertThat(decidePurchase(jdbc, Purchase.single(singleKey, user, first, 1)).outcome()).isEqualTo("ORDER_CREATED");
        assertThat(decidePurchase(jdbc, Purchase.cart(singleKey, user, new Line(first, 1))).errorCode()).isEqualTo("idempotency_key_reused");

        assertThat(jdbc.sql("select count(*) from purchase_decisions where idempotency_key in (:keys)")
                .param("keys", List.of(key, batchKey)).query(Integer.class).single()).isEqualTo(2);
        assertThat(jdbc.sql("select count(*) from purchase_lines where idempotency_key in (:keys)")
                .param("keys", List.of(key, batchKey)).query(Integer.class).single()).isEqualTo(4);
        assertThat(stockOf(first)).isEqualTo(5);
        assertThat(stockOf(second)).isEqualTo(8);
    }

    @Test
    void aBatchMixingSingleItemsAndCarts_decidesInArrayOrderAgainstTheRunningStock() {
        UUID a = newItem(3);
        UUID b = newItem(2);
        UUID user = UUID.randomUUID();
        String key = "mixed-" + a;

        List<PurchaseAnswer> answers = decidePurchases(jdbc, List.of(
                Purchase.single(key + "-1", user, a, 2),
                Purchase.cart(key + "-2", user, new Line(b, 1), new Line(a, 1)),
                Purchase.single(key + "-3", user, b, 2),
                Purchase.cart(key + "-4", user, new Line(a, 1), new Line(b, 1)),
                Purchase.single(key + "-5", user, b, 1),
                Purchase.cart(key + "-6", user, new Line(b, 1)),
                Purchase.single(key + "-7", user, a, 1)));

        assertThat(answers).map(PurchaseAnswer::outcome).containsExactly(
                "ORDER_CREATED", "ORDER_CREATED", "OUT_OF_STOCK", "OUT_OF_STOCK", "ORDER_CREATED", "OUT_OF_STOCK", "OUT_OF_STOCK");
        assertThat(answers).map(PurchaseAnswer::stock).containsExactly(1, null, 1, null, 0, null, 0);
        assertThat(answers.get(1).lineStocks()).containsExactly(1, 0);
        assertThat(answers.get(3).lineStocks()).as("available when decided").containsExactly(0, 1);
        assertThat(answers.get(5).lineStocks()).containsExactly(0);
        assertThat(List.of(answers.get(0), answers.get(2), answers.get(4), answers.get(6)))
                .allSatisfy(single -> assertThat(single.lineItems()).isNull());
        assertThat(stockOf(a)).isZero();
        assertThat(stockOf(b)).isZero();
        // One ledger row per item for the batch, naming its orders in the order they were decided.
        assertThat(jdbc.sql("select delta || ' ' || balance || ' ' || order_ids::text from stock_ledger where item_id = :item and reason = 'sales'")
                .param("item", a).query(String.class).single())
                .isEqualTo("-3 0 {" + answers.get(0).orderId() + "," + answers.get(1).orderId() + "}");
        assertThat(jdbc.sql("select delta || ' ' || balance || ' ' || order_ids::text from stock_ledger where item_id = :item and reason = 'sales'")
                .param("item", b).query(String.class).single())
                .isEqualTo("-2 0 {" + answers.get(1).orderId() + "," + answers.get(4).orderId() + "}");
    }

    private int orderLinesOf(UUID item) {
        return jdbc.sql("select count(*) from order_lines where item_id = :item").param("item", item).query(Integer.class).single();
    }

    private int ledgerRowsOf(UUID item) {
        return jdbc.sql("select count(*) from stock_ledger where item_id = :item").param("item", item).query(Integer.class).single();
    }

    private static List<Line> concat(List<Line> lines, Line more) {
        List<Line> all = new ArrayList<>(lines);
        all.add(more);
        return all;
    }
}
