package io.github.checkout.purchase;

import java.time.Instant;
import java.util.UUID;

/** The request was valid JSON but cannot be served; nothing changed. Published to {@code purchase-rejected}. */
public record PurchaseRejected(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, ErrorCode errorCode,
                               String message, Instant occurredAt) implements PurchaseOutcome {
    @Override
    public Kind kind() {
        return Kind.REJECTED;
    }
}
