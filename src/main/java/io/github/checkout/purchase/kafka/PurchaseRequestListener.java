package io.github.checkout.purchase.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.BatchProcessor;
import io.github.checkout.messaging.Metrics;
import io.github.checkout.purchase.PurchaseService;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * Reads a poll batch, dead-letters poison, decides the rest in one database call and publishes the
 * outcomes, all inside one Kafka transaction that also commits the batch's offsets.
 */
@Component
class PurchaseRequestListener {

    static final String ID = "purchase-requests";

    private final PurchaseRequestReader reader;
    private final BatchProcessor batches;
    private final PurchaseService purchases;
    private final OutcomePublisher publisher;
    private final String topic;
    private final String deadLetterTopic;
    private final String groupId;

    PurchaseRequestListener(PurchaseRequestReader reader, BatchProcessor batches, PurchaseService purchases,
                            OutcomePublisher publisher, CheckoutProperties properties) {
        this.reader = reader;
        this.batches = batches;
        this.purchases = purchases;
        this.publisher = publisher;
        this.topic = properties.topics().purchaseRequests();
        this.deadLetterTopic = properties.topics().purchaseRequestsDeadLetter();
        this.groupId = properties.groups().purchases();
    }

    public String getTopic() {
        return topic;
    }

    public String getGroupId() {
        return groupId;
    }

    @KafkaListener(id = ID, groupId = "#{__listener.groupId}", topics = "#{__listener.topic}", containerFactory = "purchaseListenerContainerFactory")
    void onBatch(List<ConsumerRecord<byte[], byte[]>> records) {
        batches.process(Metrics.PURCHASE, records, reader, deadLetterTopic, purchases::decide, publisher::publish);
    }
}
