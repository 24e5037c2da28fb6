package io.github.checkout.messaging;

import static io.github.checkout.messaging.EventPublisher.utf8;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Sends a poison message to a dead-letter topic with its original key, value and headers, plus
 * headers that say why ({@code dlt-reason}: oversized, malformed_json, schema_violation, unrepresentable or undecidable; {@code dlt-error}:
 * the detail) and where it came from. Part of the listener's Kafka transaction, like the outcomes.
 */
@Component
public class DeadLetters {

    public static final String REASON = "dlt-reason";
    public static final String ERROR = "dlt-error";

    private final KafkaTemplate<byte[], byte[]> kafka;

    DeadLetters(KafkaTemplate<byte[], byte[]> kafka) {
        this.kafka = kafka;
    }

    public void send(String topic, ConsumerRecord<byte[], byte[]> original, RequestReader.Poison<?> poison) {
        send(topic, original, poison.reason().code, poison.detail());
    }

    public void send(String topic, ConsumerRecord<byte[], byte[]> original, String reason, String error) {
        var record = new ProducerRecord<>(topic, null, original.key(), original.value(), original.headers());
        record.headers()
                .add(REASON, utf8(reason))
                .add(ERROR, utf8(error))
                .add("dlt-original-topic", utf8(original.topic()))
                .add("dlt-original-partition", utf8(String.valueOf(original.partition())))
                .add("dlt-original-offset", utf8(String.valueOf(original.offset())));
        kafka.send(record);
    }
}
