package io.github.checkout.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What must hold after every run, whatever the figures: nothing oversold, every key decided exactly once,
 * every delivery answered, at most one order per key; for carts, every order has all its cart's lines; and for
 * the flash sale, the stock sold out exactly.
 */
final class Checks {

    /** One check: its name, whether it passed, and what was counted. */
    record Check(String name, boolean passed, String detail) {

        @Override
        public String toString() {
            return (passed ? "PASS " : "FAIL ") + name + ": " + detail;
        }
    }

    private Checks() {
    }

    static List<Check> verify(JdbcClient db, Workload workload, Run run) {
        Observed observed = run.observed();
        int distinctKeys = workload.distinctKeys(run.sent());
        List<Check> checks = new ArrayList<>();

        // A cart order's units are in its lines; order_lines has every order's, orders only single-item ones.
        Map<String, Object> stock = db.sql("""
                        select count(*) filter (where i.stock < 0
                                                   or s.initial - i.stock <> coalesce(o.sold, 0)
                                                   or coalesce(o.sold, 0) > s.initial) as violations,
                               count(i.id) as found,
                               coalesce(sum(o.sold), 0) as sold
                        from unnest(:items, :initial) as s(id, initial)
                        left join items i on i.id = s.id
                        left join (select item_id, sum(quantity) as sold from %s
                                   where item_id = any (:items) group by item_id) o on o.item_id = s.id"""
                        .formatted(workload.carts() ? "order_lines" : "orders"))
                .param("items", workload.items)
                .param("initial", Arrays.stream(workload.initialStock).boxed().toArray(Integer[]::new))
                .query().singleRow();
        long violations = ((Number) stock.get("violations")).longValue();
        long found = ((Number) stock.get("found")).longValue();
        long sold = ((Number) stock.get("sold")).longValue();
        checks.add(new Check("not oversold", violations == 0 && found == workload.items.length,
                "%d items, %d with stock < 0 or stock taken != units ordered or ordered > initial stock; %d units sold"
                        .formatted(workload.items.length, violations, sold)));

        long decisions = db.sql("select count(*) from purchase_decisions where starts_with(idempotency_key, :prefix)")
                .param("prefix", workload.keyPrefix).query(Long.class).single();
        checks.add(new Check("decided once", decisions == distinctKeys,
                "%d decisions for %d distinct keys".formatted(decisions, distinctKeys)));

        checks.add(new Check("every delivery answered",
                run.sendErrors() == 0 && observed.seen() == run.sent() && observed.unknownKeys() == 0 && observed.surplus() == 0,
                "%d outcomes for %d deliveries (%d send errors, %d unknown keys, %d surplus)".formatted(
                        observed.seen(), run.sent(), run.sendErrors(), observed.unknownKeys(), observed.surplus())));

        Map<String, Object> orders = db.sql("""
                        select count(*) as orders, count(distinct idempotency_key) as keys
                        from orders where starts_with(idempotency_key, :prefix)""")
                .param("prefix", workload.keyPrefix).query().singleRow();
        long orderRows = ((Number) orders.get("orders")).longValue();
        long orderKeys = ((Number) orders.get("keys")).longValue();
        checks.add(new Check("one order per key",
                orderRows == orderKeys && observed.conflictingOrders() == 0 && observed.keysWithOrder() == orderRows,
                "%d orders for %d keys; %d keys answered with an order; %d keys answered with two different orders"
                        .formatted(orderRows, orderKeys, observed.keysWithOrder(), observed.conflictingOrders())));

        if (workload.carts()) {
            long lines = db.sql("""
                            select count(*) from order_lines l join orders o on o.id = l.order_id
                            where starts_with(o.idempotency_key, :prefix)""")
                    .param("prefix", workload.keyPrefix).query(Long.class).single();
            checks.add(new Check("whole carts", lines == observed.linesInOrders(),
                    "%d order lines; the carts answered with an order have %d lines".formatted(lines, observed.linesInOrders())));
        }

        if (workload.scenario == Scenario.FLASH) {
            long expected = Math.min(workload.totalInitialStock(), distinctKeys);
            checks.add(new Check("sold out exactly", orderRows == expected,
                    "%d orders, expected min(stock %d, buyers %d)".formatted(orderRows, workload.totalInitialStock(), distinctKeys)));
        }
        return checks;
    }
}
