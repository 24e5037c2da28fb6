package io.github.checkout.purchase.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.purchase.PurchaseOutcome;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes each outcome to its topic, keyed by item id, with {@code event-id} and {@code event-type}
 * headers. Runs inside the listener's Kafka transaction: nothing is visible to read_committed
 * consumers until the batch commits.
 */
@Component
class OutcomePublisher {

    private final KafkaTemplate<byte[], byte[]> kafka;
    private final JsonMapper json;
    private final CheckoutProperties.Topics topics;

    OutcomePublisher(KafkaTemplate<byte[], byte[]> kafka, JsonMapper json, CheckoutProperties properties) {
        this.kafka = kafka;
        this.json = json;
        this.topics = properties.topics();
    }

    void publish(List<PurchaseOutcome> outcomes) {
        for (PurchaseOutcome outcome : outcomes) {
            String topic = switch (outcome.kind()) {
                case ORDER_CREATED -> topics.orderCreated();
                case OUT_OF_STOCK -> topics.outOfStock();
                case REJECTED -> topics.purchaseRejected();
            };
            var record = new ProducerRecord<>(topic, utf8(outcome.itemId().toString()), json.writeValueAsBytes(outcome));
            record.headers().add("event-id", utf8(outcome.eventId().toString()));
            record.headers().add("event-type", utf8(outcome.getClass().getSimpleName()));
            kafka.send(record);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
