package io.github.checkout.purchase.jdbc;

import io.github.checkout.purchase.PurchaseGateway;
import io.github.checkout.purchase.PurchaseOutcome;
import io.github.checkout.purchase.PurchaseRequested;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.springframework.core.retry.RetryPolicy;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Decides a whole batch with one call of {@code place_orders}: one round trip, one transaction. */
@Repository
class JdbcPurchaseGateway implements PurchaseGateway {

    /**
     * place_orders rolls a batch back with serialization_failure when one of its keys was decided by
     * a concurrent transaction meanwhile; run again, it replays that decision. Retried here at once,
     * a few times; anything else, and a batch still failing, goes to the listener's back-off.
     */
    private static final RetryTemplate RETRY_LOST_RACES = new RetryTemplate(RetryPolicy.builder()
            .includes(PessimisticLockingFailureException.class)
            .maxRetries(3).delay(Duration.ofMillis(5)).jitter(Duration.ofMillis(5))
            .build());

    private final JdbcClient jdbc;
    private final Timer calls;

    JdbcPurchaseGateway(JdbcClient jdbc, MeterRegistry registry) {
        this.jdbc = jdbc;
        this.calls = Timer.builder("checkout.database.calls")
                .description("Time in one call of the function that decides a batch, failed calls included")
                .tag("path", "purchase").tag("function", "place_orders")
                .publishPercentileHistogram()
                .register(registry);
    }

    @Override
    public List<Decision> decide(List<PurchaseRequested> requests) {
        return RETRY_LOST_RACES.invoke(() -> calls.record(() -> placeOrders(requests)));
    }

    private List<Decision> placeOrders(List<PurchaseRequested> requests) {
        // Runs in autocommit mode: the function's single statement is its own transaction.
        return jdbc.sql("""
                        select outcome, order_id, stock, error_code, decided_at, replayed
                        from place_orders(:keys, :users, :items, :quantities)
                        order by ordinal""")
                .param("keys", requests.stream().map(r -> r.idempotencyKey().value()).toArray(String[]::new))
                .param("users", requests.stream().map(PurchaseRequested::userId).toArray(UUID[]::new))
                .param("items", requests.stream().map(PurchaseRequested::itemId).toArray(UUID[]::new))
                .param("quantities", requests.stream().map(PurchaseRequested::quantity).toArray(Integer[]::new))
                .query((rs, n) -> new Decision(
                        PurchaseOutcome.Kind.valueOf(rs.getString("outcome")),
                        rs.getObject("order_id", UUID.class),
                        (Integer) rs.getObject("stock"),
                        rs.getString("error_code"),
                        rs.getObject("decided_at", Timestamp.class).toInstant(),
                        rs.getBoolean("replayed")))
                .list();
    }
}
