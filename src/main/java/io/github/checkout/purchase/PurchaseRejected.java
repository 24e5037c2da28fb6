package io.github.checkout.purchase;

import java.time.Instant;
import java.util.UUID;

/**
 * The request was valid JSON but cannot be served; nothing changed. Published to {@code purchase-rejected}.
 * {@code errorCode} is one of {@link ErrorCode}'s codes, or a newer one passed through as stored.
 */
public record PurchaseRejected(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, String errorCode,
                               String message, Instant occurredAt) implements PurchaseOutcome {
    @Override
    public Kind kind() {
        return Kind.REJECTED;
    }
}
