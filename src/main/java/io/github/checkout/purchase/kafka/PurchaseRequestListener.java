package io.github.checkout.purchase.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.DeadLetters;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.purchase.PurchaseRequested;
import io.github.checkout.purchase.PurchaseService;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * Reads a poll batch, dead-letters poison, decides the rest in one database call and publishes the
 * outcomes, all inside one Kafka transaction that also commits the batch's offsets.
 */
@Component
class PurchaseRequestListener {

    static final String ID = "purchase-requests";
    private static final Logger log = LoggerFactory.getLogger(PurchaseRequestListener.class);

    private final PurchaseRequestReader reader;
    private final DeadLetters deadLetters;
    private final PurchaseService purchases;
    private final OutcomePublisher publisher;
    private final String topic;
    private final String deadLetterTopic;
    private final String groupId;

    PurchaseRequestListener(PurchaseRequestReader reader, DeadLetters deadLetters, PurchaseService purchases,
                            OutcomePublisher publisher, CheckoutProperties properties) {
        this.reader = reader;
        this.deadLetters = deadLetters;
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
        List<PurchaseRequested> requests = new ArrayList<>(records.size());
        for (ConsumerRecord<byte[], byte[]> record : records) {
            RequestReader.Read<PurchaseRequested> read = reader.read(record.value());
            if (read instanceof RequestReader.Valid<PurchaseRequested> valid) {
                requests.add(valid.request());
            } else if (read instanceof RequestReader.Poison<PurchaseRequested> poison) {
                log.warn("Dead-lettering {}-{}@{}: {} ({})", record.topic(), record.partition(), record.offset(),
                        poison.reason().code, poison.detail());
                deadLetters.send(deadLetterTopic, record, poison);
            }
        }
        publisher.publish(purchases.decide(requests));
    }
}
