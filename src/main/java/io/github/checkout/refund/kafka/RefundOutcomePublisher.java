package io.github.checkout.refund.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.EventPublisher;
import io.github.checkout.refund.RefundOutcome;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * Writes each refund outcome to its topic, keyed like the purchase outcomes by item id; by order id when no
 * single item is named (a cart's order, or an unknown order). Runs inside the listener's Kafka transaction.
 */
@Component
class RefundOutcomePublisher {

    private final EventPublisher events;
    private final CheckoutProperties.Topics topics;

    RefundOutcomePublisher(EventPublisher events, CheckoutProperties properties) {
        this.events = events;
        this.topics = properties.topics();
    }

    void publish(List<RefundOutcome> outcomes) {
        for (RefundOutcome outcome : outcomes) {
            String topic = switch (outcome.kind()) {
                case ORDER_REFUNDED -> topics.orderRefunded();
                case REJECTED -> topics.refundRejected();
            };
            String key = (outcome.itemId() != null ? outcome.itemId() : outcome.orderId()).toString();
            events.publish(topic, key, outcome.eventId(), outcome);
        }
    }
}
