package io.github.checkout.refund;

import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.request.StorableText;
import java.util.Objects;
import java.util.UUID;

/**
 * Stock of an order goes back: a payment failed after the stock was taken, a customer returned
 * items, an order was cancelled. The event read from {@code refund-requests}. {@code itemId} names the
 * line of the order to refund; null means every line. {@code quantity} null means everything not yet
 * refunded (of the line, or of the order); it is not range-checked here: an out-of-range quantity is a
 * business rejection ({@code invalid_quantity}) decided and recorded by the database. {@code reason} is one
 * of the well-known reasons below or free text.
 */
public record RefundRequested(IdempotencyKey idempotencyKey, UUID orderId, UUID itemId, Integer quantity, String reason) {

    public static final int MAX_REASON_LENGTH = 200;
    public static final String PAYMENT_FAILED = "payment_failed";
    public static final String CUSTOMER_RETURN = "customer_return";
    public static final String CANCELLED = "cancelled";

    public RefundRequested {
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
        Objects.requireNonNull(orderId, "orderId");
        StorableText.require("reason", reason, MAX_REASON_LENGTH);
    }

    /** A refund of the whole order, not of one line. */
    public RefundRequested(IdempotencyKey idempotencyKey, UUID orderId, Integer quantity, String reason) {
        this(idempotencyKey, orderId, null, quantity, reason);
    }
}
