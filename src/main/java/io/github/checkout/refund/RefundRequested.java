package io.github.checkout.refund;

import java.util.Objects;
import java.util.UUID;

/**
 * Stock of an order goes back: a payment failed after the stock was taken, a customer returned
 * items, an order was cancelled. The event read from {@code refund-requests}. {@code quantity} null
 * means everything of the order not yet refunded; it is not range-checked here: an out-of-range
 * quantity is a business rejection ({@code invalid_quantity}) decided and recorded by the database.
 * {@code reason} is one of the well-known reasons below or free text.
 */
public record RefundRequested(String idempotencyKey, UUID orderId, Integer quantity, String reason) {

    public static final int MAX_KEY_LENGTH = 200;
    public static final int MAX_REASON_LENGTH = 200;
    public static final String PAYMENT_FAILED = "payment_failed";
    public static final String CUSTOMER_RETURN = "customer_return";
    public static final String CANCELLED = "cancelled";

    public RefundRequested {
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
        Objects.requireNonNull(orderId, "orderId");
        Objects.requireNonNull(reason, "reason");
        if (idempotencyKey.isEmpty() || idempotencyKey.codePointCount(0, idempotencyKey.length()) > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("idempotencyKey must have 1 to " + MAX_KEY_LENGTH + " characters (code points, as in the schema)");
        }
        if (reason.isEmpty() || reason.codePointCount(0, reason.length()) > MAX_REASON_LENGTH) {
            throw new IllegalArgumentException("reason must have 1 to " + MAX_REASON_LENGTH + " characters (code points, as in the schema)");
        }
        if (!storable(idempotencyKey) || !storable(reason)) {
            throw new IllegalArgumentException("idempotencyKey or reason holds U+0000 or half a surrogate pair, which PostgreSQL text cannot store");
        }
    }

    /** PostgreSQL text holds any string but one with U+0000 or an unpaired surrogate (both valid JSON escapes). */
    private static boolean storable(String text) {
        return text.codePoints().noneMatch(c -> c == 0 || Character.getType(c) == Character.SURROGATE);
    }
}
