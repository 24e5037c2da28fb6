package io.github.checkout.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What must hold after every run, whatever the figures: nothing oversold, every key decided exactly once,
 * every delivery answered, at most one order per key; for carts, every order has all its cart's lines; for
 * the flash sale, the stock sold out exactly; for holds, every hold ended exactly once as planned (confirmed or
 * expired, never both), nothing still held, and the database's audit clean.
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
                        select count(*) filter (where i.stock < 0 or i.held < 0
                                                   or s.initial - i.stock - i.held <> coalesce(o.sold, 0)
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
                "%d items, %d with stock < 0 or stock + held + units ordered != initial stock or ordered > initial stock; %d units sold"
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

        if (workload.holds()) {
            checks.addAll(holds(db, workload, observed));
        }

        if (workload.scenario == Scenario.FLASH) {
            long expected = Math.min(workload.totalInitialStock(), distinctKeys);
            checks.add(new Check("sold out exactly", orderRows == expected,
                    "%d orders, expected min(stock %d, buyers %d)".formatted(orderRows, workload.totalInitialStock(), distinctKeys)));
        }
        return checks;
    }

    /**
     * Every hold ended exactly once, as planned: as the client saw it (one order for each hold confirmed, one
     * ReservationExpired for each hold left to expire, neither for the other) and as the database has it (the
     * holds' states, their orders, the confirmations decided, every expiry announced); nothing held at the end;
     * and the audit, which checks the ledger of every hold and stock + held + sold = initial for every item.
     */
    private static List<Check> holds(JdbcClient db, Workload workload, Observed observed) {
        List<Check> checks = new ArrayList<>();
        long confirmed = observed.keysWithOrder();
        long expiring = observed.expiring();
        long notOnce = observed.holdsNotEndedOnce();
        checks.add(new Check("each hold ended once", notOnce == 0 && observed.expired() == expiring
                        && observed.confirmationsRejected() == 0,
                "%d holds placed: %d confirmed into an order, %d ReservationExpired for %d left to expire;"
                        .formatted(observed.reserved(), confirmed, observed.expired(), expiring)
                        + " %d confirmations rejected; %d holds not ended exactly once as planned"
                        .formatted(observed.confirmationsRejected(), notOnce)));

        Map<String, Object> holds = db.sql("""
                        select count(*) as holds,
                               count(*) filter (where r.status = 'confirmed') as confirmed,
                               count(*) filter (where r.status = 'expired' and r.announced_by is not null) as expired,
                               count(*) filter (where r.status not in ('confirmed', 'expired')
                                                   or r.order_id is distinct from o.id
                                                   or (r.status = 'expired' and r.announced_by is null)) as other,
                               (select count(*) from reservation_decisions c
                                where starts_with(c.idempotency_key, :confirmations)) as confirmations
                        from reservations r left join orders o on o.idempotency_key = r.idempotency_key
                        where starts_with(r.idempotency_key, :prefix)""")
                .param("prefix", workload.keyPrefix)
                .param("confirmations", workload.keyPrefix + "c")
                .query().singleRow();
        long rows = ((Number) holds.get("holds")).longValue();
        long confirmedRows = ((Number) holds.get("confirmed")).longValue();
        long expiredRows = ((Number) holds.get("expired")).longValue();
        long other = ((Number) holds.get("other")).longValue();
        long confirmations = ((Number) holds.get("confirmations")).longValue();
        checks.add(new Check("holds in the database", rows == observed.reserved() && confirmedRows == confirmed
                        && expiredRows == expiring && other == 0 && confirmations == observed.reserved() - expiring,
                "%d holds: %d confirmed, %d expired and announced, %d otherwise (held, released, expired unannounced,"
                        .formatted(rows, confirmedRows, expiredRows, other)
                        + " or an order not its own); %d confirmations decided".formatted(confirmations)));

        long held = db.sql("select coalesce(sum(held), 0) from items where id = any (:items)")
                .param("items", workload.items).query(Long.class).single();
        checks.add(new Check("nothing held at the end", held == 0, "%d units held".formatted(held)));

        List<String> violations = db.sql("""
                        select check_name || ': ' || count(*) || ' (' || min(detail) || ')'
                        from audit_violations() group by check_name order by check_name""")
                .query(String.class).list();
        checks.add(new Check("audit clean", violations.isEmpty(),
                violations.isEmpty() ? "no violation" : String.join("; ", violations)));
        return checks;
    }
}
