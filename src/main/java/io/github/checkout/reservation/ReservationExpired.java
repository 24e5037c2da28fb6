package io.github.checkout.reservation;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The hold ran out at {@code expiresAt} and its units went back to stock; published once to
 * {@code reservation-expired}. {@code idempotencyKey} is the key of the request that placed the hold;
 * {@code occurredAt}, when it was expired.
 */
public record ReservationExpired(UUID eventId, String idempotencyKey, UUID reservationId, UUID userId,
                                 List<ReservationLine> lines, Instant expiresAt, Instant occurredAt)
        implements ReservationOutcome {
    @Override
    public Kind kind() {
        return Kind.RESERVATION_EXPIRED;
    }
}
