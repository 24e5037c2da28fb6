package io.github.checkout.refund;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * {@code quantity} units of the order went back to stock; published to {@code order-refunded}. For a
 * single-item order, {@code itemId} and {@code remainingStock}, the item's stock after it; for a cart's order,
 * {@code lines} instead, the lines this refund put back, and {@code quantity} is their total. Null fields are
 * left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OrderRefunded(UUID eventId, String idempotencyKey, UUID orderId, UUID itemId, int quantity,
                            Integer remainingStock, List<Line> lines, Instant occurredAt) implements RefundOutcome {

    /** A line of a cart's order this refund put back, and the item's stock after it. */
    public record Line(UUID itemId, int quantity, int remainingStock) {
    }

    /** The refund of a single-item order. */
    public OrderRefunded(UUID eventId, String idempotencyKey, UUID orderId, UUID itemId, int quantity,
                         int remainingStock, Instant occurredAt) {
        this(eventId, idempotencyKey, orderId, itemId, quantity, remainingStock, null, occurredAt);
    }

    @Override
    public Kind kind() {
        return Kind.ORDER_REFUNDED;
    }
}
