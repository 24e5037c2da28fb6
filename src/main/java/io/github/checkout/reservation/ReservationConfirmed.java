package io.github.checkout.reservation;

import io.github.checkout.purchase.OrderCreated;
import java.util.Objects;
import java.util.UUID;

/** The hold became an order: published as its {@link OrderCreated}, to {@code order-created}, with the reservation id. */
public record ReservationConfirmed(OrderCreated order) implements ReservationOutcome {

    public ReservationConfirmed {
        Objects.requireNonNull(order.reservationId(), "reservationId");
    }

    @Override
    public Kind kind() {
        return Kind.ORDER_CREATED;
    }

    @Override
    public UUID eventId() {
        return order.eventId();
    }

    @Override
    public UUID reservationId() {
        return order.reservationId();
    }
}
