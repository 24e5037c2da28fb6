package io.github.checkout.purchase;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Stock was taken and held until {@code expiresAt} under {@code reservationId}, for a request with
 * {@code holdFor}; published to {@code stock-reserved}. A single item has {@code itemId}, {@code quantity}
 * and {@code remainingStock}; a cart {@code lines} instead, as an order has. Null fields are left out. A replay
 * carries the original {@code expiresAt}, whatever became of the hold since.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StockReserved(UUID eventId, String idempotencyKey, UUID reservationId, UUID userId, UUID itemId,
                            Integer quantity, Integer remainingStock, List<OrderCreated.Line> lines, Instant expiresAt,
                            Instant occurredAt) implements PurchaseOutcome {

    @Override
    public Kind kind() {
        return Kind.STOCK_RESERVED;
    }
}
