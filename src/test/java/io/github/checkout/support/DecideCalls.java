package io.github.checkout.support;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * decide_purchases and decide_refunds called over JDBC as the service's role calls them, with requests and
 * answers as records: a test reads a cart's answer as lists, compares replays with equals, and needs no
 * Java side of carts.
 */
public final class DecideCalls {

    private DecideCalls() {
    }

    /** A line of a request: an item and its quantity (null to send a null). */
    public record Line(UUID item, Integer quantity) {
    }

    /** A purchase request: a single item (one line) or a cart (any number of lines, none included). */
    public record Purchase(String key, UUID user, boolean cart, List<Line> lines) {

        public static Purchase single(String key, UUID user, UUID item, Integer quantity) {
            return new Purchase(key, user, false, List.of(new Line(item, quantity)));
        }

        public static Purchase cart(String key, UUID user, Line... lines) {
            return new Purchase(key, user, true, List.of(lines));
        }

        public static Purchase cart(String key, UUID user, List<Line> lines) {
            return new Purchase(key, user, true, List.copyOf(lines));
        }
    }

    /** One row of decide_purchases; the line_* columns as lists, null where the column is null. */
    public record PurchaseAnswer(int ordinal, String outcome, UUID orderId, Integer stock, String errorCode,
                                 Instant decidedAt, boolean replayed, List<UUID> lineItems, List<Integer> lineQuantities,
                                 List<Integer> lineStocks, List<String> lineErrors) {

        /** The decision alone: without its place in the batch, nor replayed, which is all a replay may change. */
        public PurchaseAnswer asDecided() {
            return new PurchaseAnswer(0, outcome, orderId, stock, errorCode, decidedAt, false, lineItems,
                    lineQuantities, lineStocks, lineErrors);
        }
    }

    /** A refund request: the whole order when item is null, everything left when quantity is null. */
    public record Refund(String key, UUID order, UUID item, Integer quantity, String reason) {
    }

    /** One row of decide_refunds. */
    public record RefundAnswer(int ordinal, String outcome, UUID itemId, Integer quantity, Integer stock,
                               String errorCode, Instant decidedAt, boolean replayed, List<UUID> lineItems,
                               List<Integer> lineQuantities, List<Integer> lineStocks) {

        /** The decision alone, as for a purchase. */
        public RefundAnswer asDecided() {
            return new RefundAnswer(0, outcome, itemId, quantity, stock, errorCode, decidedAt, false, lineItems,
                    lineQuantities, lineStocks);
        }
    }

    public static List<PurchaseAnswer> decidePurchases(JdbcClient db, List<Purchase> batch) {
        List<Integer> lineOf = new ArrayList<>();
        List<UUID> items = new ArrayList<>();
        List<Integer> quantities = new ArrayList<>();
        for (int k = 0; k < batch.size(); k++) {
            for (Line line : batch.get(k).lines()) {
                lineOf.add(k + 1);
                items.add(line.item());
                quantities.add(line.quantity());
            }
        }
        return db.sql("""
                        select * from decide_purchases(:keys, :users, :carts, :lineOf, :items, :quantities) order by ordinal""")
                .param("keys", batch.stream().map(Purchase::key).toArray(String[]::new))
                .param("users", batch.stream().map(Purchase::user).toArray(UUID[]::new))
                .param("carts", batch.stream().map(Purchase::cart).toArray(Boolean[]::new))
                .param("lineOf", lineOf.toArray(Integer[]::new))
                .param("items", items.toArray(UUID[]::new))
                .param("quantities", quantities.toArray(Integer[]::new))
                .query((rs, n) -> new PurchaseAnswer(rs.getInt("ordinal"), rs.getString("outcome"),
                        rs.getObject("order_id", UUID.class), (Integer) rs.getObject("stock"), rs.getString("error_code"),
                        instant(rs), rs.getBoolean("replayed"), list(rs.getArray("line_items"), UUID.class),
                        list(rs.getArray("line_quantities"), Integer.class), list(rs.getArray("line_stocks"), Integer.class),
                        list(rs.getArray("line_errors"), String.class)))
                .list();
    }

    public static PurchaseAnswer decidePurchase(JdbcClient db, Purchase request) {
        return decidePurchases(db, List.of(request)).get(0);
    }

    public static List<RefundAnswer> decideRefunds(JdbcClient db, List<Refund> batch) {
        return db.sql("""
                        select * from decide_refunds(:keys, :orders, :items, :quantities, :reasons) order by ordinal""")
                .param("keys", batch.stream().map(Refund::key).toArray(String[]::new))
                .param("orders", batch.stream().map(Refund::order).toArray(UUID[]::new))
                .param("items", batch.stream().map(Refund::item).toArray(UUID[]::new))
                .param("quantities", batch.stream().map(Refund::quantity).toArray(Integer[]::new))
                .param("reasons", batch.stream().map(Refund::reason).toArray(String[]::new))
                .query((rs, n) -> new RefundAnswer(rs.getInt("ordinal"), rs.getString("outcome"),
                        rs.getObject("item_id", UUID.class), (Integer) rs.getObject("quantity"),
                        (Integer) rs.getObject("stock"), rs.getString("error_code"), instant(rs),
                        rs.getBoolean("replayed"), list(rs.getArray("line_items"), UUID.class),
                        list(rs.getArray("line_quantities"), Integer.class), list(rs.getArray("line_stocks"), Integer.class)))
                .list();
    }

    public static RefundAnswer decideRefund(JdbcClient db, Refund request) {
        return decideRefunds(db, List.of(request)).get(0);
    }

    private static Instant instant(ResultSet rs) throws SQLException {
        var at = rs.getTimestamp("decided_at");
        return at == null ? null : at.toInstant();
    }

    private static <T> List<T> list(Array array, Class<T> type) throws SQLException {
        if (array == null) {
            return null;
        }
        // An ArrayList keeps nulls (List.of refuses them): a fine line's error is null.
        List<T> values = new ArrayList<>();
        for (Object value : (Object[]) array.getArray()) {
            values.add(type.cast(type == UUID.class && value instanceof String text ? UUID.fromString(text) : value));
        }
        return values;
    }
}
