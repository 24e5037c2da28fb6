package io.github.checkout.support;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.function.Supplier;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * decide_purchases, decide_refunds, decide_reservations and sweep_reservations called over JDBC as the service's
 * role calls them, with requests and answers as records: a test reads a cart's answer as lists, compares replays
 * with equals, and needs no Java side of carts or holds.
 */
public final class DecideCalls {

    /** The limits the contract ships with: checkout.holds.max-duration and max-lifetime. */
    public static final Duration MAX_HOLD = Duration.ofMinutes(15);
    public static final Duration MAX_LIFETIME = Duration.ofHours(1);

    private DecideCalls() {
    }

    /** A line of a request: an item and its quantity (null to send a null). */
    public record Line(UUID item, Integer quantity) {
    }

    /**
     * A purchase request: a single item (one line) or a cart (any number of lines, none included); with
     * {@code holdFor} (not null) a hold for that long instead of an order.
     */
    public record Purchase(String key, UUID user, boolean cart, List<Line> lines, Duration holdFor) {

        public Purchase(String key, UUID user, boolean cart, List<Line> lines) {
            this(key, user, cart, lines, null);
        }

        /** The same request, asking for a hold of {@code duration}. */
        public Purchase held(Duration duration) {
            return new Purchase(key, user, cart, lines, duration);
        }

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
                                 List<Integer> lineStocks, List<String> lineErrors, UUID reservationId,
                                 Instant expiresAt) {

        /** The decision alone: without its place in the batch, nor replayed, which is all a replay may change. */
        public PurchaseAnswer asDecided() {
            return new PurchaseAnswer(0, outcome, orderId, stock, errorCode, decidedAt, false, lineItems,
                    lineQuantities, lineStocks, lineErrors, reservationId, expiresAt);
        }
    }

    /**
     * A request about a hold: kind confirm, release or extend (with its key; extend with holdFor), or expire (no
     * key; source, the coordinates of the record that asks).
     */
    public record Reservation(String key, String kind, UUID reservation, Duration holdFor, String source) {

        public static Reservation confirm(String key, UUID reservation) {
            return new Reservation(key, "confirm", reservation, null, null);
        }

        public static Reservation release(String key, UUID reservation) {
            return new Reservation(key, "release", reservation, null, null);
        }

        public static Reservation extend(String key, UUID reservation, Duration holdFor) {
            return new Reservation(key, "extend", reservation, holdFor, null);
        }

        public static Reservation expire(UUID reservation, String source) {
            return new Reservation(null, "expire", reservation, null, source);
        }
    }

    /** One row of decide_reservations; the line_* columns as lists, null where the column is null. */
    public record ReservationAnswer(int ordinal, String outcome, String errorCode, UUID orderId, UUID userId,
                                    String holdKey, UUID itemId, Instant expiresAt, Instant decidedAt, boolean replayed,
                                    List<UUID> lineItems, List<Integer> lineQuantities, List<Integer> lineStocks) {

        /** The decision alone, as for a purchase. */
        public ReservationAnswer asDecided() {
            return new ReservationAnswer(0, outcome, errorCode, orderId, userId, holdKey, itemId, expiresAt, decidedAt,
                    false, lineItems, lineQuantities, lineStocks);
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
        return decidePurchases(db, batch, MAX_HOLD);
    }

    /** decide_purchases with p_max_hold {@code maxHold}. */
    public static List<PurchaseAnswer> decidePurchases(JdbcClient db, List<Purchase> batch, Duration maxHold) {
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
                        select * from decide_purchases(:keys, :users, :carts, :lineOf, :items, :quantities,
                                                       cast(:holdFor as interval[]), cast(:maxHold as interval))
                        order by ordinal""")
                .param("keys", batch.stream().map(Purchase::key).toArray(String[]::new))
                .param("users", batch.stream().map(Purchase::user).toArray(UUID[]::new))
                .param("carts", batch.stream().map(Purchase::cart).toArray(Boolean[]::new))
                .param("lineOf", lineOf.toArray(Integer[]::new))
                .param("items", items.toArray(UUID[]::new))
                .param("quantities", quantities.toArray(Integer[]::new))
                .param("holdFor", batch.stream().map(p -> interval(p.holdFor())).toArray(String[]::new))
                .param("maxHold", interval(maxHold))
                .query((rs, n) -> new PurchaseAnswer(rs.getInt("ordinal"), rs.getString("outcome"),
                        rs.getObject("order_id", UUID.class), (Integer) rs.getObject("stock"), rs.getString("error_code"),
                        instant(rs, "decided_at"), rs.getBoolean("replayed"), list(rs.getArray("line_items"), UUID.class),
                        list(rs.getArray("line_quantities"), Integer.class), list(rs.getArray("line_stocks"), Integer.class),
                        list(rs.getArray("line_errors"), String.class), rs.getObject("reservation_id", UUID.class),
                        instant(rs, "expires_at")))
                .list();
    }

    public static PurchaseAnswer decidePurchase(JdbcClient db, Purchase request) {
        return decidePurchases(db, List.of(request)).get(0);
    }

    public static List<ReservationAnswer> decideReservations(JdbcClient db, List<Reservation> batch) {
        return decideReservations(db, batch, MAX_HOLD, MAX_LIFETIME);
    }

    /** decide_reservations with p_max_hold {@code maxHold} and p_max_lifetime {@code maxLifetime}. */
    public static List<ReservationAnswer> decideReservations(JdbcClient db, List<Reservation> batch, Duration maxHold,
                                                             Duration maxLifetime) {
        return db.sql("""
                        select * from decide_reservations(:keys, :kinds, :reservations, cast(:holdFor as interval[]),
                                                          :sources, cast(:maxHold as interval), cast(:maxLifetime as interval))
                        order by ordinal""")
                .param("keys", batch.stream().map(Reservation::key).toArray(String[]::new))
                .param("kinds", batch.stream().map(Reservation::kind).toArray(String[]::new))
                .param("reservations", batch.stream().map(Reservation::reservation).toArray(UUID[]::new))
                .param("holdFor", batch.stream().map(r -> interval(r.holdFor())).toArray(String[]::new))
                .param("sources", batch.stream().map(Reservation::source).toArray(String[]::new))
                .param("maxHold", interval(maxHold))
                .param("maxLifetime", interval(maxLifetime))
                .query((rs, n) -> new ReservationAnswer(rs.getInt("ordinal"), rs.getString("outcome"),
                        rs.getString("error_code"), rs.getObject("order_id", UUID.class), rs.getObject("user_id", UUID.class),
                        rs.getString("hold_key"), rs.getObject("item_id", UUID.class), instant(rs, "expires_at"),
                        instant(rs, "decided_at"), rs.getBoolean("replayed"), list(rs.getArray("line_items"), UUID.class),
                        list(rs.getArray("line_quantities"), Integer.class), list(rs.getArray("line_stocks"), Integer.class)))
                .list();
    }

    public static ReservationAnswer decideReservation(JdbcClient db, Reservation request) {
        return decideReservations(db, List.of(request)).get(0);
    }

    /** sweep_reservations: the holds it marked sent, for an ExpireReservation each. */
    public static List<UUID> sweep(JdbcClient db, int limit, Duration resendAfter) {
        return db.sql("select * from sweep_reservations(:limit, cast(:resendAfter as interval))")
                .param("limit", limit).param("resendAfter", interval(resendAfter)).query(UUID.class).list();
    }

    /** A duration as PostgreSQL reads an interval, to the microsecond; null stays null. */
    public static String interval(Duration duration) {
        return duration == null ? null : (duration.getSeconds() * 1_000_000 + duration.getNano() / 1_000) + " microseconds";
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
                        (Integer) rs.getObject("stock"), rs.getString("error_code"), instant(rs, "decided_at"),
                        rs.getBoolean("replayed"), list(rs.getArray("line_items"), UUID.class),
                        list(rs.getArray("line_quantities"), Integer.class), list(rs.getArray("line_stocks"), Integer.class)))
                .list();
    }

    public static RefundAnswer decideRefund(JdbcClient db, Refund request) {
        return decideRefunds(db, List.of(request)).get(0);
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        var at = rs.getTimestamp(column);
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

    /**
     * Runs the call, again after a serialization_failure (a key decided by a concurrent batch) only, as the service
     * does; any other exception is recorded in {@code errors} by its SQL state and message, and null returned.
     */
    public static <T> T retried(Queue<String> errors, Supplier<T> call) {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (RuntimeException e) {
                String state = sqlState(e);
                if ("40001".equals(state) && attempt < 10) {
                    continue;
                }
                errors.add(state + " " + e.getMessage());
                return null;
            }
        }
    }

    private static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                return sql.getSQLState();
            }
        }
        return "none";
    }
}
