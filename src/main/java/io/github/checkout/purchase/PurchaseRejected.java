package io.github.checkout.purchase;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The request was valid JSON but cannot be served; nothing changed. Published to {@code purchase-rejected}.
 * {@code errorCode} is one of {@link ErrorCode}'s codes, or a newer one passed through as stored. A cart has no
 * {@code itemId}; its {@code lines} are the offending lines, for a code that is about lines, else left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PurchaseRejected(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, String errorCode,
                               String message, List<Line> lines, Instant occurredAt) implements PurchaseOutcome {

    /** An offending line of a cart (lines of one item summed), with its own code. */
    public record Line(UUID itemId, int quantity, String errorCode) {
    }

    /** The rejection of a single-item request. */
    public PurchaseRejected(UUID eventId, String idempotencyKey, UUID userId, UUID itemId, String errorCode,
                            String message, Instant occurredAt) {
        this(eventId, idempotencyKey, userId, itemId, errorCode, message, null, occurredAt);
    }

    @Override
    public Kind kind() {
        return Kind.REJECTED;
    }
}
