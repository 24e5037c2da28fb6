package io.github.checkout.purchase;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Not enough stock was left; nothing changed. Published to {@code out-of-stock}. A single-item request has
 * {@code itemId}, {@code requestedQuantity} and {@code availableStock}; a cart has {@code lines} instead: only
 * the lines that were short. Null fields are left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OutOfStock(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, Integer requestedQuantity,
                         Integer availableStock, List<Line> lines, Instant occurredAt) implements PurchaseOutcome {

    /** A short line of a cart: the units asked for (lines of one item summed) and the item's stock. */
    public record Line(UUID itemId, int requestedQuantity, int availableStock) {
    }

    /** The answer to a single-item request. */
    public OutOfStock(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, int requestedQuantity,
                      int availableStock, Instant occurredAt) {
        this(eventId, idempotencyKey, userId, itemId, requestedQuantity, availableStock, null, occurredAt);
    }

    @Override
    public Kind kind() {
        return Kind.OUT_OF_STOCK;
    }
}
