package io.github.checkout.messaging;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes one outcome event as JSON with {@code event-id} and {@code event-type} headers. Called inside
 * a listener's Kafka transaction: nothing is visible to read_committed consumers until it commits.
 */
@Component
public class EventPublisher {

    private final KafkaTemplate<byte[], byte[]> kafka;
    private final JsonMapper json;

    EventPublisher(KafkaTemplate<byte[], byte[]> kafka, JsonMapper json) {
        this.kafka = kafka;
        this.json = json;
    }

    public void publish(String topic, String key, UUID eventId, Object event) {
        var record = new ProducerRecord<>(topic, utf8(key), json.writeValueAsBytes(event));
        record.headers().add("event-id", utf8(eventId.toString()));
        record.headers().add("event-type", utf8(event.getClass().getSimpleName()));
        kafka.send(record);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
