package io.github.checkout.reservation.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.BatchProcessor;
import io.github.checkout.messaging.Metrics;
import io.github.checkout.reservation.ReservationService;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * Reads a poll batch of reservation requests, dead-letters poison, decides the rest in one database call
 * and publishes the outcomes, all inside one Kafka transaction that also commits the batch's offsets.
 * Same container and same retry without end as the purchase listener, in a consumer group of its own.
 */
@Component
class ReservationRequestListener {

    static final String ID = "reservation-requests";

    private final ReservationRequestReader reader;
    private final BatchProcessor batches;
    private final ReservationService reservations;
    private final ReservationOutcomePublisher publisher;
    private final String topic;
    private final String deadLetterTopic;
    private final String groupId;

    ReservationRequestListener(ReservationRequestReader reader, BatchProcessor batches, ReservationService reservations,
                               ReservationOutcomePublisher publisher, CheckoutProperties properties) {
        this.reader = reader;
        this.batches = batches;
        this.reservations = reservations;
        this.publisher = publisher;
        this.topic = properties.topics().reservationRequests();
        this.deadLetterTopic = properties.topics().reservationRequestsDeadLetter();
        this.groupId = properties.groups().reservations();
    }

    public String getTopic() {
        return topic;
    }

    public String getGroupId() {
        return groupId;
    }

    @KafkaListener(id = ID, groupId = "#{__listener.groupId}", topics = "#{__listener.topic}", containerFactory = "purchaseListenerContainerFactory")
    void onBatch(List<ConsumerRecord<byte[], byte[]>> records) {
        batches.process(Metrics.RESERVATION, records, reader, deadLetterTopic, reservations::decide, publisher::publish);
    }
}
