package io.github.checkout.purchase.jdbc;

import io.github.checkout.purchase.PurchaseGateway;
import io.github.checkout.purchase.PurchaseOutcome;
import io.github.checkout.purchase.PurchaseRequested;
import java.sql.Timestamp;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Decides a whole batch with one call of {@code place_orders}: one round trip, one transaction. */
@Repository
class JdbcPurchaseGateway implements PurchaseGateway {

    private final JdbcClient jdbc;

    JdbcPurchaseGateway(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public List<Decision> decide(List<PurchaseRequested> requests) {
        // Runs in autocommit mode: the function's single statement is its own transaction.
        return jdbc.sql("""
                        select outcome, order_id, stock, error_code, decided_at
                        from place_orders(:keys, :users, :items, :quantities)
                        order by ordinal""")
                .param("keys", requests.stream().map(PurchaseRequested::idempotencyKey).toArray(String[]::new))
                .param("users", requests.stream().map(PurchaseRequested::userId).toArray(UUID[]::new))
                .param("items", requests.stream().map(PurchaseRequested::itemId).toArray(UUID[]::new))
                .param("quantities", requests.stream().map(PurchaseRequested::quantity).toArray(Integer[]::new))
                .query((rs, n) -> new Decision(
                        PurchaseOutcome.Kind.valueOf(rs.getString("outcome")),
                        rs.getObject("order_id", UUID.class),
                        (Integer) rs.getObject("stock"),
                        rs.getString("error_code"),
                        rs.getObject("decided_at", Timestamp.class).toInstant()))
                .list();
    }
}
