package io.github.checkout.purchase;

import java.time.Instant;
import java.util.UUID;

/** Stock was taken and an order exists; published to {@code order-created}. */
public record OrderCreated(UUID eventId, String idempotencyKey, UUID orderId, UUID userId, UUID itemId,
                           int quantity, int remainingStock, Instant occurredAt) implements PurchaseOutcome {
    @Override
    public Kind kind() {
        return Kind.ORDER_CREATED;
    }
}
