package io.github.checkout.purchase;

import java.time.Instant;
import java.util.UUID;

/** Not enough stock was left; nothing changed. Published to {@code out-of-stock}. */
public record OutOfStock(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, int requestedQuantity,
                         int availableStock, Instant occurredAt) implements PurchaseOutcome {
    @Override
    public Kind kind() {
        return Kind.OUT_OF_STOCK;
    }
}
