package io.github.checkout.reservation.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.EventPublisher;
import io.github.checkout.purchase.OrderCreated;
import io.github.checkout.reservation.ReservationConfirmed;
import io.github.checkout.reservation.ReservationOutcome;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * Writes each reservation outcome to its topic, keyed by reservation id; a confirmation's {@link OrderCreated} goes to
 * {@code order-created} keyed as every order (item id, a cart's user id). Runs inside the listener's Kafka transaction.
 */
@Component
class ReservationOutcomePublisher {

    private final EventPublisher events;
    private final CheckoutProperties.Topics topics;

    ReservationOutcomePublisher(EventPublisher events, CheckoutProperties properties) {
        this.events = events;
        this.topics = properties.topics();
    }

    void publish(List<ReservationOutcome> outcomes) {
        for (ReservationOutcome outcome : outcomes) {
            if (outcome instanceof ReservationConfirmed confirmed) {
                OrderCreated order = confirmed.order();
                String key = (order.itemId() != null ? order.itemId() : order.userId()).toString();
                events.publish(topics.orderCreated(), key, order.eventId(), order);
                continue;
            }
            String topic = switch (outcome.kind()) {
                case RESERVATION_RELEASED -> topics.reservationReleased();
                case RESERVATION_EXTENDED -> topics.reservationExtended();
                case RESERVATION_EXPIRED -> topics.reservationExpired();
                case REJECTED -> topics.reservationRejected();
                case ORDER_CREATED -> throw new IllegalStateException("a confirmation is published as its order");
            };
            events.publish(topic, outcome.reservationId().toString(), outcome.eventId(), outcome);
        }
    }
}
