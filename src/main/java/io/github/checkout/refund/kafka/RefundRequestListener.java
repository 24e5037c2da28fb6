package io.github.checkout.refund.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.DeadLetters;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.refund.RefundRequested;
import io.github.checkout.refund.RefundService;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * Reads a poll batch of refund requests, dead-letters poison, decides the rest in one database call
 * and publishes the outcomes, all inside one Kafka transaction that also commits the batch's offsets.
 * Same container and same retry without end as the purchase listener, in a consumer group of its own.
 */
@Component
class RefundRequestListener {

    static final String ID = "refund-requests";
    private static final Logger log = LoggerFactory.getLogger(RefundRequestListener.class);

    private final RefundRequestReader reader;
    private final DeadLetters deadLetters;
    private final RefundService refunds;
    private final RefundOutcomePublisher publisher;
    private final String topic;
    private final String deadLetterTopic;
    private final String groupId;

    RefundRequestListener(RefundRequestReader reader, DeadLetters deadLetters, RefundService refunds,
                          RefundOutcomePublisher publisher, CheckoutProperties properties) {
        this.reader = reader;
        this.deadLetters = deadLetters;
        this.refunds = refunds;
        this.publisher = publisher;
        this.topic = properties.topics().refundRequests();
        this.deadLetterTopic = properties.topics().refundRequestsDeadLetter();
        this.groupId = properties.groups().refunds();
    }

    public String getTopic() {
        return topic;
    }

    public String getGroupId() {
        return groupId;
    }

    @KafkaListener(id = ID, groupId = "#{__listener.groupId}", topics = "#{__listener.topic}", containerFactory = "purchaseListenerContainerFactory")
    void onBatch(List<ConsumerRecord<byte[], byte[]>> records) {
        List<RefundRequested> requests = new ArrayList<>(records.size());
        for (ConsumerRecord<byte[], byte[]> record : records) {
            RequestReader.Read<RefundRequested> read = reader.read(record.value());
            if (read instanceof RequestReader.Valid<RefundRequested> valid) {
                requests.add(valid.request());
            } else if (read instanceof RequestReader.Poison<RefundRequested> poison) {
                log.warn("Dead-lettering {}-{}@{}: {} ({})", record.topic(), record.partition(), record.offset(),
                        poison.reason().code, poison.detail());
                deadLetters.send(deadLetterTopic, record, poison);
            }
        }
        publisher.publish(refunds.decide(requests));
    }
}
