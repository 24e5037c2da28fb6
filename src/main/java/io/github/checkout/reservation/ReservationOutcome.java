package io.github.checkout.reservation;

import java.util.UUID;

/**
 * The one outcome of a reservation request. Every outcome is an event contract (see {@code schemas/}), keyed by
 * reservation id, except a confirmation: its {@code OrderCreated} is keyed as every order is. An expiry that
 * announces nothing (the hold had not expired, or another record announced it) has no outcome.
 */
public sealed interface ReservationOutcome
        permits ReservationConfirmed, ReservationReleased, ReservationExtended, ReservationExpired, ReservationRejected {

    /** Which of the outcomes this is; a {@code switch} over it must name every kind. */
    enum Kind { ORDER_CREATED, RESERVATION_RELEASED, RESERVATION_EXTENDED, RESERVATION_EXPIRED, REJECTED }

    Kind kind();

    UUID eventId();

    UUID reservationId();
}
