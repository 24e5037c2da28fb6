package io.github.checkout.refund.jdbc;

import io.github.checkout.refund.RefundGateway;
import io.github.checkout.refund.RefundGateway.Line;
import io.github.checkout.refund.RefundOutcome;
import io.github.checkout.refund.RefundRequested;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Decides a whole batch with one call of {@code decide_refunds}: one round trip, one transaction. */
@Repository
class JdbcRefundGateway implements RefundGateway {

    private final JdbcClient jdbc;
    private final Timer calls;

    JdbcRefundGateway(JdbcClient jdbc, MeterRegistry registry) {
        this.jdbc = jdbc;
        this.calls = Timer.builder("checkout.database.calls")
                .description("Time in one call of the function that decides a batch, failed calls included")
                .tag("path", "refund").tag("function", "decide_refunds")
                .publishPercentileHistogram()
                .register(registry);
    }

    @Override
    public List<Decision> decide(List<RefundRequested> requests) {
        return calls.record(() -> decideRefunds(requests));
    }

    private List<Decision> decideRefunds(List<RefundRequested> requests) {
        // Runs in autocommit mode: the function's single statement is its own transaction.
        return jdbc.sql("""
                        select outcome, item_id, quantity, stock, error_code, decided_at, replayed,
                               line_items, line_quantities, line_stocks
                        from decide_refunds(:keys, :orders, :items, :quantities, :reasons)
                        order by ordinal""")
                .param("keys", requests.stream().map(r -> r.idempotencyKey().value()).toArray(String[]::new))
                .param("orders", requests.stream().map(RefundRequested::orderId).toArray(UUID[]::new))
                .param("items", requests.stream().map(RefundRequested::itemId).toArray(UUID[]::new))
                .param("quantities", requests.stream().map(RefundRequested::quantity).toArray(Integer[]::new))
                .param("reasons", requests.stream().map(RefundRequested::reason).toArray(String[]::new))
                .query((rs, n) -> new Decision(
                        RefundOutcome.Kind.valueOf(rs.getString("outcome")),
                        rs.getObject("item_id", UUID.class),
                        (Integer) rs.getObject("quantity"),
                        (Integer) rs.getObject("stock"),
                        rs.getString("error_code"),
                        rs.getObject("decided_at", Timestamp.class).toInstant(),
                        rs.getBoolean("replayed"),
                        lines(rs)))
                .list();
    }

    /** The lines a refund of a cart's order put back, from the row's parallel arrays; null when the row has none. */
    private static List<Line> lines(ResultSet rs) throws SQLException {
        Array items = rs.getArray("line_items");
        if (items == null) {
            return null;
        }
        UUID[] item = (UUID[]) items.getArray();
        Integer[] quantity = (Integer[]) rs.getArray("line_quantities").getArray();
        Integer[] stock = (Integer[]) rs.getArray("line_stocks").getArray();
        List<Line> lines = new ArrayList<>(item.length);
        for (int i = 0; i < item.length; i++) {
            lines.add(new Line(item[i], quantity[i], stock[i]));
        }
        return lines;
    }
}
