package io.github.checkout.refund.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.BatchProcessor;
import io.github.checkout.messaging.Metrics;
import io.github.checkout.refund.RefundService;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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

    private final RefundRequestReader reader;
    private final BatchProcessor batches;
    private final RefundService refunds;
    private final RefundOutcomePublisher publisher;
    private final String topic;
    private final String deadLetterTopic;
    private final String groupId;

    RefundRequestListener(RefundRequestReader reader, BatchProcessor batches, RefundService refunds,
                          RefundOutcomePublisher publisher, CheckoutProperties properties) {
        this.reader = reader;
        this.batches = batches;
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
        batches.process(Metrics.REFUND, records, reader, deadLetterTopic, refunds::decide, publisher::publish);
    }
}
