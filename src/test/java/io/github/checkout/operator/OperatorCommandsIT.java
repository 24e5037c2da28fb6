package io.github.checkout.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.CheckoutApplication;
import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.TestInfrastructure;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/** The audit and restock commands, and the audit's every check shown to fail when its invariant is broken. */
@ExtendWith(OutputCaptureExtension.class)
class OperatorCommandsIT extends IntegrationTestSupport {

    @Test
    void everyBrokenInvariant_isNamedByTheAuditWhichExitsNonZero() {
        // Broken inside a transaction that is rolled back: the shared database stays sound.
        SingleConnectionDataSource connection = Concurrently.connection();
        connection.setAutoCommit(false);
        try {
            JdbcClient db = JdbcClient.create(connection);
            UUID bogusRow = item(db, 3);
            db.sql("insert into stock_ledger (item_id, delta, reason, operator, balance) values (:item, 1, 'correction', 'test', 4)")
                    .param("item", bogusRow).update();
            UUID wentNegative = item(db, 0);
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, operator, balance)
                    values (:item, -100, 'correction', 'test', -100), (:item, 100, 'correction', 'test', 0)""")
                    .param("item", wentNegative).update();
            // The order gets a new id: its sale in the ledger now names an order that does not exist.
            UUID renumberedItem = item(db, 1);
            UUID renumbered = order(db, renumberedItem, 1);
            db.sql("update purchase_decisions set order_id = gen_random_uuid() where order_id = :order")
                    .param("order", renumbered).update();
            UUID unrecordedItem = item(db, 2);
            UUID refundedUnrecorded = order(db, unrecordedItem, 2);
            db.sql("update orders set refunded_quantity = 1, status = 'partially_refunded' where id = :order")
                    .param("order", refundedUnrecorded).update();
            UUID wrongStatus = order(db, item(db, 1), 1);
            db.sql("update orders set status = 'refunded' where id = :order").param("order", wrongStatus).update();
            UUID soldTwice = order(db, item(db, 1), 1);
            // A second sale row for the order, after a compensating row that keeps stock equal to the ledger.
            db.sql("insert into stock_ledger (item_id, delta, reason, operator, balance) select item_id, 1, 'correction', 'test', 1 from orders where id = :order")
                    .param("order", soldTwice).update();
            db.sql("insert into stock_ledger (item_id, delta, reason, order_id, balance) select item_id, -1, 'sale', id, 0 from orders where id = :order")
                    .param("order", soldTwice).update();

            UUID soldShort = order(db, item(db, 1), 1);
            // Its sale replaced by a correction of +1 and then a batch row that takes 2 for this order of 1.
            db.sql("delete from stock_ledger where :order = any (order_ids)").param("order", soldShort).update();
            db.sql("insert into stock_ledger (item_id, delta, reason, operator, balance) select item_id, 1, 'correction', 'test', 2 from orders where id = :order")
                    .param("order", soldShort).update();
            db.sql("insert into stock_ledger (item_id, delta, reason, order_ids, balance) select item_id, -2, 'sales', array[id], 0 from orders where id = :order")
                    .param("order", soldShort).update();

            UUID wrongBalance = item(db, 2);
            db.sql("update stock_ledger set balance = 5 where item_id = :item").param("item", wrongBalance).update();

            // A cart order whose total no longer matches its lines, and a cart line under a key that decided nothing.
            UUID cartTotal = cartOrder(db, item(db, 1), 1, item(db, 2), 2);
            db.sql("update purchase_decisions set quantity = 4 where order_id = :order").param("order", cartTotal).update();
            db.sql("insert into purchase_lines (idempotency_key, line_no, item_id, quantity) values ('no-such-cart', 1, :item, 1)")
                    .param("item", item(db, 1)).update();

            // Held units that no hold accounts for, neither live holds nor the ledger.
            UUID heldByNothing = item(db, 1);
            db.sql("update items set held = 1 where id = :item").param("item", heldByNothing).update();
            // A hold released, then ended a second time: its release copied in the ledger, then a correction that
            // keeps the stock equal to the ledger.
            UUID endedTwiceItem = item(db, 2);
            UUID endedTwice = releasedHold(db, endedTwiceItem);
            db.sql("""
                    insert into stock_ledger (item_id, delta, held_delta, reason, reservation_ids, balance)
                    select item_id, delta, held_delta, reason, reservation_ids, balance + delta from stock_ledger
                    where :hold = any (reservation_ids) and reason = 'hold_released'""").param("hold", endedTwice).update();
            db.sql("insert into stock_ledger (item_id, delta, reason, operator, balance) values (:item, -1, 'correction', 'test', 2)")
                    .param("item", endedTwiceItem).update();

            List<StockOperations.Violation> violations = new StockOperations(db).audit();
            assertThat(violations).map(StockOperations.Violation::check).containsExactlyInAnyOrder(
                    "stock_equals_ledger", "stock_equals_ledger", "stock_never_negative", "refunds_within_order", "refunds_within_order",
                    "one_decision_per_request", "one_decision_per_request", "one_decision_per_request",
                    "one_decision_per_request", "cart_lines", "cart_lines", "holds", "holds",
                    "holds", "holds", "stock_conserved", "stock_conserved", "stock_conserved", "stock_conserved", "stock_conserved");
            assertThat(violations).anySatisfy(v -> assertThat(v.detail()).contains(bogusRow.toString(), "adds up to 4"))
                    .anySatisfy(v -> assertThat(v.detail()).contains(wentNegative.toString(), "-100"))
                    .anySatisfy(v -> assertThat(v.detail()).contains(wrongBalance.toString(), "says the stock after it is 5", "add up to 2"))
                    .anySatisfy(v -> assertThat(v.detail()).contains(renumbered.toString(), "which has no line for item " + renumberedItem))
                    .anySatisfy(v -> assertThat(v.detail()).contains("line of item " + renumberedItem + " has 0 sale rows in the ledger"))
                    .anySatisfy(v -> assertThat(v.detail()).contains(refundedUnrecorded.toString(),
                            "line of item " + unrecordedItem + " has 1 refunded but its refund lines add up to 0"))
                    .anySatisfy(v -> assertThat(v.detail()).contains(wrongStatus.toString(), "is refunded with 0 of 1"))
                    .anySatisfy(v -> assertThat(v.detail()).contains(soldTwice.toString(), "has 2 sale rows in the ledger"))
                    .anySatisfy(v -> assertThat(v.detail()).contains("takes 2 from stock for order lines of 1"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("cart order " + cartTotal + " has quantity 4 but its lines add up to 3"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("line 1 of cart no-such-cart names order none, but the cart decided none"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("item " + heldByNothing + " has 1 held but its live holds add up to 0"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("item " + heldByNothing + " has 1 held but its ledger's held_delta adds up to 0"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("item " + heldByNothing
                            + ": stock 1 + held 1 + sold 0 - refunded 0 = 2, but initial and restocked add up to 1"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("hold " + endedTwice + " is released, but its line of item "
                            + endedTwiceItem + " has 2 ending rows in the ledger (hold_released, hold_released)"))
                    .anySatisfy(v -> assertThat(v.detail()).isEqualTo("item " + endedTwiceItem
                            + " has 0 held but its ledger's held_delta adds up to -1"));

            var out = new ByteArrayOutputStream();
            int exit = new OperatorCommands(new StockOperations(db), new PrintStream(out, true, StandardCharsets.UTF_8),
                    System.err).execute("audit");
            assertThat(exit).isEqualTo(OperatorCommands.FAILED);
            String report = out.toString(StandardCharsets.UTF_8);
            assertThat(report).contains("20 violation(s) found.", "stock_equals_ledger: item " + bogusRow,
                    "one_decision_per_request: order " + soldTwice, "cart_lines: cart order " + cartTotal);
            assertThat(report.lines().filter(line -> line.contains(" ok"))).isEmpty();
        } finally {
            JdbcClient.create(connection).sql("rollback").update();
            connection.destroy();
        }
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void everyBrokenRefundInvariant_isNamedByTheAuditWithItsDetail() {
        // As above, inside a transaction that is rolled back; the two check constraints that make a state
        // unreachable are dropped in it too (transactional in PostgreSQL), to show their checks firing.
        SingleConnectionDataSource connection = Concurrently.connection();
        connection.setAutoCommit(false);
        try {
            JdbcClient db = JdbcClient.create(connection);
            // A refund with a second ledger row of +1, after a correction of -1 that keeps stock equal to the ledger.
            UUID refundedTwice = order(db, item(db, 2), 2);
            String twiceKey = refund(db, refundedTwice, 1);
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, operator, balance)
                    select item_id, -1, 'correction', 'test', stock - 1 from refund_decisions where idempotency_key = :key""")
                    .param("key", twiceKey).update();
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, order_id, refund_key, balance)
                    select item_id, 1, 'refund', order_id, idempotency_key, stock from refund_decisions where idempotency_key = :key""")
                    .param("key", twiceKey).update();
            // A refund row in the ledger under a key that decided nothing, after a compensating correction.
            UUID unknownItem = item(db, 2);
            UUID refundedUnknown = order(db, unknownItem, 1);
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, operator, balance)
                    select item_id, -1, 'correction', 'test', 0 from orders where id = :order""")
                    .param("order", refundedUnknown).update();
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, order_id, refund_key, balance)
                    select item_id, 1, 'refund', id, 'no-such-refund', 1 from orders where id = :order""")
                    .param("order", refundedUnknown).update();
            // A second refund of the whole order of 1, written by hand: its decision, its refund line, and its
            // ledger row after a compensating correction; only the order's line does not know of it.
            UUID overItem = item(db, 1);
            UUID overRefunded = order(db, overItem, 1);
            refund(db, overRefunded, 1);
            db.sql("""
                    insert into refund_decisions (idempotency_key, order_id, requested_quantity, reason, outcome, item_id,
                                                  quantity, stock, decided_at)
                    select 'again-' || id, id, 1, 'test', 'ORDER_REFUNDED', item_id, 1, 1, now() from orders where id = :order""")
                    .param("order", overRefunded).update();
            db.sql("""
                    insert into refund_lines (refund_key, item_id, order_id, quantity, stock)
                    select 'again-' || id, item_id, id, 1, 1 from orders where id = :order""")
                    .param("order", overRefunded).update();
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, operator, balance)
                    select item_id, -1, 'correction', 'test', 0 from orders where id = :order""")
                    .param("order", overRefunded).update();
            db.sql("""
                    insert into stock_ledger (item_id, delta, reason, order_id, refund_key, balance)
                    select item_id, 1, 'refund', id, 'again-' || id, 1 from orders where id = :order""")
                    .param("order", overRefunded).update();
            // A refund line putting back an item its order has no line for, under a key that decided nothing.
            UUID strayOrder = order(db, item(db, 1), 1);
            UUID strayItem = item(db, 1);
            db.sql("insert into refund_lines (refund_key, item_id, order_id, quantity, stock) values ('stray-refund', :item, :order, 1, 1)")
                    .param("item", strayItem).param("order", strayOrder).update();
            // A cart order's line refunded by hand, its order not; and a cart refund whose total is not its lines'.
            UUID cartLineItem = item(db, 3);
            UUID cartLineRefunded = cartOrder(db, cartLineItem, 2, item(db, 3), 1);
            db.sql("update purchase_lines set refunded_quantity = 1 where order_id = :order and item_id = :item")
                    .param("order", cartLineRefunded).param("item", cartLineItem).update();
            UUID cartRefunded = cartOrder(db, item(db, 3), 2, item(db, 3), 1);
            String cartRefundKey = "audit-cart-refund-" + cartRefunded;
            assertThat(db.sql("select quantity from decide_refunds(array[:key], array[:order]::uuid[], array[null]::uuid[], array[null]::integer[], array['test'])")
                    .param("key", cartRefundKey).param("order", cartRefunded).query(Integer.class).single()).isEqualTo(3);
            db.sql("update refund_decisions set quantity = 4 where idempotency_key = :key").param("key", cartRefundKey).update();
            // Unreachable while the check constraints stand: negative stock, and more refunded than ordered.
            db.sql("alter table items drop constraint items_stock_check").update();
            UUID negative = item(db, 0);
            db.sql("update items set stock = -1 where id = :item").param("item", negative).update();
            db.sql("""
                    do $$ begin
                        execute (select format('alter table purchase_decisions drop constraint %I', conname) from pg_constraint
                                 where conrelid = 'purchase_decisions'::regclass
                                   and pg_get_constraintdef(oid) like '%refunded_quantity <= quantity%');
                    end $$""").update();
            UUID aboveItem = item(db, 1);
            UUID refundedAbove = order(db, aboveItem, 1);
            db.sql("update purchase_decisions set refunded_quantity = 2 where order_id = :order")
                    .param("order", refundedAbove).update();

            List<StockOperations.Violation> violations = new StockOperations(db).audit();
            assertThat(violations).map(v -> v.check() + ": " + v.detail()).anySatisfy(v -> assertThat(v).contains(
                            "one_decision_per_request: refund " + twiceKey + " of order " + refundedTwice,
                            "has 2 ledger rows adding up to 2, not one of 1"))
                    .anySatisfy(v -> assertThat(v).contains("one_decision_per_request: ledger row ",
                            "refunds order " + refundedUnknown + " item " + unknownItem
                                    + " under key no-such-refund, which decided no such refund"))
                    .anySatisfy(v -> assertThat(v).isEqualTo("refunds_within_order: order " + overRefunded + " line of item "
                            + overItem + " has 1 refunded but its refund lines add up to 2"))
                    .anySatisfy(v -> assertThat(v).isEqualTo("stock_never_negative: item " + negative + " has stock -1"))
                    .anySatisfy(v -> assertThat(v).isEqualTo(
                            "refunds_within_order: order " + refundedAbove + " line of item " + aboveItem + " has 2 of 1 refunded"))
                    .anySatisfy(v -> assertThat(v).isEqualTo(
                            "refunds_within_order: order " + cartLineRefunded + " has 0 refunded but its lines have 1"))
                    .anySatisfy(v -> assertThat(v).isEqualTo("refunds_within_order: refund " + cartRefundKey + " of order "
                            + cartRefunded + " put back 4, but its refund lines add up to 3"))
                    .anySatisfy(v -> assertThat(v).isEqualTo("refunds_within_order: refund lines of order " + strayOrder
                            + " put back 1 of item " + strayItem + ", which the order has no line for"))
                    .anySatisfy(v -> assertThat(v).isEqualTo("refunds_within_order: refund lines under key stray-refund, "
                            + "which decided no refund of order " + strayOrder));
        } finally {
            JdbcClient.create(connection).sql("rollback").update();
            connection.destroy();
        }
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void restockCommand_changesStockThroughTheLedger(CapturedOutput output) {
        UUID item = newItem(2);

        int exit = OperatorCommands.run(CheckoutApplication.class, withDatabase(
                "restock", "--item=" + item, "--delta=50", "--operator=alice", "--note=delivery 42"));

        assertThat(exit).isEqualTo(OperatorCommands.OK);
        assertThat(output).contains("Restocked item " + item + " by +50: stock is now 52 (ledger: restock by alice).");
        assertThat(stockOf(item)).isEqualTo(52);
        assertThat(jdbc.sql("select operator || ' ' || note from stock_ledger where item_id = :item and reason = 'restock'")
                .param("item", item).query(String.class).single()).isEqualTo("alice delivery 42");
    }

    @Test
    void auditCommand_onASoundDatabase_reportsEveryCheckAndExitsZero(CapturedOutput output) {
        int exit = OperatorCommands.run(CheckoutApplication.class, withDatabase("audit"));

        assertThat(exit).isEqualTo(OperatorCommands.OK);
        for (String check : new StockOperations(jdbc).checks()) {
            assertThat(output).containsPattern(check + " +ok");
        }
        assertThat(output).contains("All 7 checks hold.");
    }

    @Test
    void restockCommand_refusedByTheDatabase_exitsOneAndChangesNothing(CapturedOutput output) {
        UUID item = newItem(2);
        var commands = new OperatorCommands(new StockOperations(jdbc), System.out, System.err);

        assertThat(commands.execute("restock", "--item=" + item, "--delta=-3", "--operator=bob")).isEqualTo(OperatorCommands.FAILED);
        assertThat(output).contains("restock refused, nothing changed:", "below zero");
        assertThat(commands.execute("restock", "--item=" + UUID.randomUUID(), "--delta=3", "--operator=bob"))
                .isEqualTo(OperatorCommands.FAILED);
        assertThat(stockOf(item)).isEqualTo(2);
    }

    private static String[] withDatabase(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--spring.datasource.url=" + TestInfrastructure.jdbcUrl());
        all.add("--spring.datasource.username=" + TestInfrastructure.springProperties().get("spring.datasource.username"));
        all.add("--spring.datasource.password=" + TestInfrastructure.springProperties().get("spring.datasource.password"));
        return all.toArray(String[]::new);
    }

    private static UUID item(JdbcClient db, int stock) {
        UUID item = UUID.randomUUID();
        db.sql("insert into items (id, stock) values (:id, :stock)").param("id", item).param("stock", stock).update();
        return item;
    }

    /** Refunds {@code quantity} of the order through refund_order; returns the idempotency key. */
    private static String refund(JdbcClient db, UUID order, int quantity) {
        String key = "audit-refund-" + UUID.randomUUID();
        assertThat(db.sql("select outcome from refund_order(:key, :order, :quantity, 'test')")
                .param("key", key).param("order", order).param("quantity", quantity).query(String.class).single())
                .isEqualTo("ORDER_REFUNDED");
        return key;
    }

    /** A cart of two lines, decided through decide_purchases; returns its order id. */
    private static UUID cartOrder(JdbcClient db, UUID first, int firstQuantity, UUID second, int secondQuantity) {
        return db.sql("""
                        select order_id from decide_purchases(array[:key], array[gen_random_uuid()], array[true], array[1, 1],
                                                              array[:first, :second]::uuid[], array[:q1, :q2])""")
                .param("key", "audit-cart-" + UUID.randomUUID()).param("first", first).param("second", second)
                .param("q1", firstQuantity).param("q2", secondQuantity).query(UUID.class).single();
    }

    /** A hold of one unit, placed and released through the functions; returns the hold's id. */
    private static UUID releasedHold(JdbcClient db, UUID item) {
        UUID hold = db.sql("""
                        select reservation_id from decide_purchases(array[:key], array[gen_random_uuid()], array[false], array[1],
                                                                    array[:item]::uuid[], array[1], array['PT5M']::interval[], 'PT15M')""")
                .param("key", "audit-hold-" + UUID.randomUUID()).param("item", item).query(UUID.class).single();
        assertThat(db.sql("""
                        select outcome from decide_reservations(array[:key], array['release'], array[:hold]::uuid[],
                                                                array[null]::interval[], array[null], 'PT15M', 'PT1H')""")
                .param("key", "audit-release-" + UUID.randomUUID()).param("hold", hold).query(String.class).single())
                .isEqualTo("RESERVATION_RELEASED");
        return hold;
    }

    private static UUID order(JdbcClient db, UUID item, int quantity) {
        return db.sql("select order_id from place_order(:key, gen_random_uuid(), :item, :quantity)")
                .param("key", "audit-" + UUID.randomUUID()).param("item", item).param("quantity", quantity)
                .query(UUID.class).single();
    }
}
