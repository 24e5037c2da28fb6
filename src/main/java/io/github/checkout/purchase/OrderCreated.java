package io.github.checkout.purchase;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Stock was taken and an order exists; published to {@code order-created}. A single-item order has
 * {@code itemId}, {@code quantity} and {@code remainingStock}; a cart's has {@code lines} instead, one per
 * item in the order of first appearance. {@code reservationId}: the hold this order confirmed, null for an order
 * bought at once. Null fields are left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OrderCreated(UUID eventId, String idempotencyKey, UUID orderId, UUID reservationId, UUID userId, UUID itemId,
                           Integer quantity, Integer remainingStock, List<Line> lines, Instant occurredAt)
        implements PurchaseOutcome {

    /** A line of a cart's order: the units taken and the item's stock after the cart. */
    public record Line(UUID itemId, int quantity, int remainingStock) {
    }

    /** An order bought at once, of a cart ({@code lines}) or a single item. */
    public OrderCreated(UUID eventId, String idempotencyKey, UUID orderId, UUID userId, UUID itemId, Integer quantity,
                        Integer remainingStock, List<Line> lines, Instant occurredAt) {
        this(eventId, idempotencyKey, orderId, null, userId, itemId, quantity, remainingStock, lines, occurredAt);
    }

    /** The order of a single-item request. */
    public OrderCreated(UUID eventId, String idempotencyKey, UUID orderId, UUID userId, UUID itemId, int quantity,
                        int remainingStock, Instant occurredAt) {
        this(eventId, idempotencyKey, orderId, null, userId, itemId, quantity, remainingStock, null, occurredAt);
    }

    @Override
    public Kind kind() {
        return Kind.ORDER_CREATED;
    }
}
