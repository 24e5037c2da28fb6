package io.github.checkout.refund;

import java.time.Instant;
import java.util.UUID;

/** {@code quantity} units of the order went back to stock, leaving {@code remainingStock}; published to {@code order-refunded}. */
public record OrderRefunded(UUID eventId, String idempotencyKey, UUID orderId, UUID itemId, int quantity,
                            int remainingStock, Instant occurredAt) implements RefundOutcome {
    @Override
    public Kind kind() {
        return Kind.ORDER_REFUNDED;
    }
}
