package io.github.checkout.refund;

import java.time.Instant;
import java.util.UUID;

/** The refund request was valid JSON but cannot be served; nothing changed. Published to {@code refund-rejected}. */
public record RefundRejected(UUID eventId, String idempotencyKey, UUID orderId, UUID itemId, RefundErrorCode errorCode,
                             String message, Instant occurredAt) implements RefundOutcome {
    @Override
    public Kind kind() {
        return Kind.REJECTED;
    }
}
