package io.github.checkout.purchase.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.EventPublisher;
import io.github.checkout.purchase.PurchaseOutcome;
import java.util.List;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Writes each outcome to its topic, keyed by item id (a cart's, which spans items, by user id), with {@code event-id} and {@code event-type}
 * headers. Runs inside the listener's Kafka transaction: nothing is visible to read_committed
 * consumers until the batch commits.
 */
@Component
class OutcomePublisher {

    private final EventPublisher events;
    private final CheckoutProperties.Topics topics;

    OutcomePublisher(EventPublisher events, CheckoutProperties properties) {
        this.events = events;
        this.topics = properties.topics();
    }

    void publish(List<PurchaseOutcome> outcomes) {
        for (PurchaseOutcome outcome : outcomes) {
            String topic = switch (outcome.kind()) {
                case ORDER_CREATED -> topics.orderCreated();
                case STOCK_RESERVED -> topics.stockReserved();
                case OUT_OF_STOCK -> topics.outOfStock();
                case REJECTED -> topics.purchaseRejected();
            };
            UUID key = outcome.itemId() != null ? outcome.itemId() : outcome.userId();
            events.publish(topic, key.toString(), outcome.eventId(), outcome);
        }
    }
}
