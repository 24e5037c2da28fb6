package io.github.checkout.reservation;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** The hold was released and its units went back to stock; published to {@code reservation-released}. */
public record ReservationReleased(UUID eventId, String idempotencyKey, UUID reservationId, UUID userId,
                                  List<ReservationLine> lines, Instant occurredAt) implements ReservationOutcome {
    @Override
    public Kind kind() {
        return Kind.RESERVATION_RELEASED;
    }
}
