package io.github.checkout.reservation;

import java.time.Instant;
import java.util.UUID;

/**
 * The request was readable but cannot be served; nothing changed. Published to {@code reservation-rejected}.
 * {@code errorCode} is one of {@link ReservationErrorCode}'s codes, or a newer one passed through as stored.
 */
public record ReservationRejected(UUID eventId, String idempotencyKey, UUID reservationId, String errorCode, String message,
                                  Instant occurredAt) implements ReservationOutcome {
    @Override
    public Kind kind() {
        return Kind.REJECTED;
    }
}
