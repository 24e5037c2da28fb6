package io.github.checkout.reservation.jdbc;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.reservation.ReservationGateway;
import io.github.checkout.reservation.ReservationLine;
import io.github.checkout.reservation.ReservationOutcome;
import io.github.checkout.reservation.ReservationRequested;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.springframework.core.retry.RetryPolicy;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * Decides a whole batch with one call of {@code decide_reservations}: one round trip, one transaction. Sweeps with
 * one call of {@code sweep_reservations}, in a transaction of its own.
 */
@Repository
class JdbcReservationGateway implements ReservationGateway {

    /** As for purchases: a batch that lost a race on a key rolls back with serialization_failure and replays it when run again. */
    private static final RetryTemplate RETRY_LOST_RACES = new RetryTemplate(RetryPolicy.builder()
            .includes(PessimisticLockingFailureException.class)
            .maxRetries(3).delay(Duration.ofMillis(5)).jitter(Duration.ofMillis(5))
            .build());
    private static final Duration CENTURY = Duration.ofDays(36525);

    private final JdbcClient jdbc;
    private final Timer calls;
    private final CheckoutProperties.Holds holds;

    JdbcReservationGateway(JdbcClient jdbc, MeterRegistry registry, CheckoutProperties properties) {
        this.jdbc = jdbc;
        this.holds = properties.holds();
        this.calls = Timer.builder("checkout.database.calls")
                .description("Time in one call of the function that decides a batch, failed calls included")
                .tag("path", "reservation").tag("function", "decide_reservations")
                .publishPercentileHistogram()
                .register(registry);
    }

    @Override
    public List<Decision> decide(List<ReservationRequested> requests) {
        return RETRY_LOST_RACES.invoke(() -> calls.record(() -> decideReservations(requests)));
    }

    @Override
    public List<UUID> sweep(int limit, Duration resendAfter) {
        // Autocommit: the function's single statement is its own transaction, committed when this returns.
        return jdbc.sql("select * from sweep_reservations(:limit, :resendAfter::interval)")
                .param("limit", limit)
                .param("resendAfter", interval(resendAfter))
                .query(UUID.class)
                .list();
    }

    private List<Decision> decideReservations(List<ReservationRequested> requests) {
        // Runs in autocommit mode: the function's single statement is its own transaction.
        return jdbc.sql("""
                        select outcome, error_code, order_id, user_id, hold_key, item_id, expires_at, decided_at, replayed,
                               line_items, line_quantities, line_stocks
                        from decide_reservations(:keys, :kinds, :reservations, :holdFor::interval[], :sources,
                                                 :maxHold::interval, :maxLifetime::interval)
                        order by ordinal""")
                .param("keys", requests.stream().map(r -> r.idempotencyKey() == null ? null : r.idempotencyKey().value())
                        .toArray(String[]::new))
                .param("kinds", requests.stream().map(r -> r.type().kind()).toArray(String[]::new))
                .param("reservations", requests.stream().map(ReservationRequested::reservationId).toArray(UUID[]::new))
                .param("holdFor", requests.stream().map(r -> interval(r.holdFor())).toArray(String[]::new))
                .param("sources", requests.stream()
                        .map(r -> r.type() == ReservationRequested.Type.EXPIRE ? r.source() : null).toArray(String[]::new))
                .param("maxHold", interval(holds.maxDuration()))
                .param("maxLifetime", interval(holds.maxLifetime()))
                .query((rs, n) -> new Decision(
                        kind(rs.getString("outcome")),
                        rs.getString("error_code"),
                        rs.getObject("order_id", UUID.class),
                        rs.getObject("user_id", UUID.class),
                        rs.getString("hold_key"),
                        rs.getObject("item_id", UUID.class),
                        instant(rs.getObject("expires_at", Timestamp.class)),
                        instant(rs.getObject("decided_at", Timestamp.class)),
                        rs.getBoolean("replayed"),
                        lines(rs)))
                .list();
    }

    /** 'NONE', an expiry that announces nothing, is no outcome. */
    private static ReservationOutcome.Kind kind(String outcome) {
        return "NONE".equals(outcome) ? null : ReservationOutcome.Kind.valueOf(outcome);
    }

    /**
     * The hold's lines from the row's parallel arrays, once it ended; null for an unknown hold, and for a live one,
     * whose lines have no stock after their end yet.
     */
    private static List<ReservationLine> lines(ResultSet rs) throws SQLException {
        Array items = rs.getArray("line_items");
        if (items == null) {
            return null;
        }
        UUID[] item = (UUID[]) items.getArray();
        Integer[] quantity = (Integer[]) rs.getArray("line_quantities").getArray();
        Integer[] stock = (Integer[]) rs.getArray("line_stocks").getArray();
        if (Arrays.asList(stock).contains(null)) {
            return null;
        }
        List<ReservationLine> lines = new ArrayList<>(item.length);
        for (int i = 0; i < item.length; i++) {
            lines.add(new ReservationLine(item[i], quantity[i], stock[i]));
        }
        return lines;
    }

    /** As JdbcPurchaseGateway passes a hold: ISO-8601, bounded by a century either way. */
    private static String interval(Duration duration) {
        if (duration == null) {
            return null;
        }
        return (duration.compareTo(CENTURY) > 0 ? CENTURY : duration.compareTo(CENTURY.negated()) < 0 ? CENTURY.negated() : duration)
                .toString();
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}
