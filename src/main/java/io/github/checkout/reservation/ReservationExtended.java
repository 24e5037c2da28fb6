package io.github.checkout.reservation;

import java.time.Instant;
import java.util.UUID;

/** The hold now ends at {@code expiresAt}; published to {@code reservation-extended}. */
public record ReservationExtended(UUID eventId, String idempotencyKey, UUID reservationId, UUID userId, Instant expiresAt,
                                  Instant occurredAt) implements ReservationOutcome {
    @Override
    public Kind kind() {
        return Kind.RESERVATION_EXTENDED;
    }
}
