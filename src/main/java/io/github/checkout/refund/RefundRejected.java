package io.github.checkout.refund;

import java.time.Instant;
import java.util.UUID;

/**
 * The refund request was valid JSON but cannot be served; nothing changed. Published to {@code refund-rejected}.
 * {@code errorCode} is one of {@link RefundErrorCode}'s codes, or a newer one passed through as stored.
 * {@code itemId}: the line the request named, else the item of a single-item order, else null (written as null).
 */
public record RefundRejected(UUID eventId, String idempotencyKey, UUID orderId, UUID itemId, String errorCode,
                             String message, Instant occurredAt) implements RefundOutcome {
    @Override
    public Kind kind() {
        return Kind.REJECTED;
    }
}
