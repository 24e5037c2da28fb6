package io.github.checkout.purchase.jdbc;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.purchase.PurchaseGateway;
import io.github.checkout.purchase.PurchaseGateway.Line;
import io.github.checkout.purchase.PurchaseOutcome;
import io.github.checkout.purchase.PurchaseRequested;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.core.retry.RetryPolicy;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * Decides a whole batch, single items and carts together, with one call of {@code decide_purchases}: one
 * round trip, one transaction. The lines of all requests go as flat arrays, each line naming its request.
 */
@Repository
class JdbcPurchaseGateway implements PurchaseGateway {

    /**
     * decide_purchases rolls a batch back with serialization_failure when one of its keys was decided by
     * a concurrent transaction meanwhile; run again, it replays that decision. Retried here at once,
     * a few times; anything else, and a batch still failing, goes to the listener's back-off.
     */
    private static final RetryTemplate RETRY_LOST_RACES = new RetryTemplate(RetryPolicy.builder()
            .includes(PessimisticLockingFailureException.class)
            .maxRetries(3).delay(Duration.ofMillis(5)).jitter(Duration.ofMillis(5))
            .build());

    private static final Duration CENTURY = Duration.ofDays(36525);

    private final JdbcClient jdbc;
    private final Timer calls;
    private final Duration maxHold;

    JdbcPurchaseGateway(JdbcClient jdbc, MeterRegistry registry, CheckoutProperties properties) {
        this.jdbc = jdbc;
        this.maxHold = properties.holds().maxDuration();
        this.calls = Timer.builder("checkout.database.calls")
                .description("Time in one call of the function that decides a batch, failed calls included")
                .tag("path", "purchase").tag("function", "decide_purchases")
                .publishPercentileHistogram()
                .register(registry);
    }

    @Override
    public List<Decision> decide(List<PurchaseRequested> requests) {
        return RETRY_LOST_RACES.invoke(() -> calls.record(() -> decidePurchases(requests)));
    }

    private List<Decision> decidePurchases(List<PurchaseRequested> requests) {
        List<Integer> lineOf = new ArrayList<>();
        List<UUID> items = new ArrayList<>();
        List<Integer> quantities = new ArrayList<>();
        for (int k = 0; k < requests.size(); k++) {
            PurchaseRequested r = requests.get(k);
            List<PurchaseRequested.Line> lines = r.isCart() ? r.lines() : List.of(new PurchaseRequested.Line(r.itemId(), r.quantity()));
            for (PurchaseRequested.Line line : lines) {
                lineOf.add(k + 1);
                items.add(line.itemId());
                quantities.add(line.quantity());
            }
        }
        // Runs in autocommit mode: the function's single statement is its own transaction.
        return jdbc.sql("""
                        select outcome, order_id, stock, error_code, decided_at, replayed,
                               line_items, line_quantities, line_stocks, line_errors, reservation_id, expires_at
                        from decide_purchases(:keys, :users, :carts, :lineOf, :items, :quantities,
                                              :holdFor::interval[], :maxHold::interval)
                        order by ordinal""")
                .param("keys", requests.stream().map(r -> r.idempotencyKey().value()).toArray(String[]::new))
                .param("users", requests.stream().map(PurchaseRequested::userId).toArray(UUID[]::new))
                .param("carts", requests.stream().map(PurchaseRequested::isCart).toArray(Boolean[]::new))
                .param("lineOf", lineOf.toArray(Integer[]::new))
                .param("items", items.toArray(UUID[]::new))
                .param("quantities", quantities.toArray(Integer[]::new))
                .param("holdFor", requests.stream().map(r -> interval(r.holdFor())).toArray(String[]::new))
                .param("maxHold", interval(maxHold))
                .query((rs, n) -> new Decision(
                        PurchaseOutcome.Kind.valueOf(rs.getString("outcome")),
                        rs.getObject("order_id", UUID.class),
                        (Integer) rs.getObject("stock"),
                        rs.getString("error_code"),
                        rs.getObject("decided_at", Timestamp.class).toInstant(),
                        rs.getBoolean("replayed"),
                        lines(rs),
                        rs.getObject("reservation_id", UUID.class),
                        instant(rs.getObject("expires_at", Timestamp.class))))
                .list();
    }

    /** A cart's merged lines from the row's parallel arrays; null when the row has none. */
    private static List<Line> lines(ResultSet rs) throws SQLException {
        UUID[] items = array(rs, "line_items", UUID[].class);
        if (items == null) {
            return null;
        }
        Integer[] quantities = array(rs, "line_quantities", Integer[].class);
        Integer[] stocks = array(rs, "line_stocks", Integer[].class);
        String[] errors = array(rs, "line_errors", String[].class);
        List<Line> lines = new ArrayList<>(items.length);
        for (int i = 0; i < items.length; i++) {
            lines.add(new Line(items[i], quantities[i], stocks == null ? null : stocks[i], errors == null ? null : errors[i]));
        }
        return lines;
    }

    /**
     * A duration as PostgreSQL reads an interval: its ISO-8601 form ({@code PT5M}). Beyond a century either way it
     * is a century, which PostgreSQL can hold, and which is as far out of any hold's range as the duration asked.
     */
    static String interval(Duration duration) {
        if (duration == null) {
            return null;
        }
        return (duration.compareTo(CENTURY) > 0 ? CENTURY : duration.compareTo(CENTURY.negated()) < 0 ? CENTURY.negated() : duration)
                .toString();
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }

    private static <T> T array(ResultSet rs, String column, Class<T> type) throws SQLException {
        Array array = rs.getArray(column);
        return array == null ? null : type.cast(array.getArray());
    }
}
