package io.github.checkout.reservation.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.LogFields;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.reservation.ReservationRequested;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Reads a {@link ReservationRequested} of the type its {@code type} names, checked against
 * {@code schemas/reservation-requested.schema.json}, with {@code source} set to the record's coordinates.
 */
@Component
public class ReservationRequestReader extends RequestReader<ReservationRequested> {

    static final String SCHEMA = "schemas/reservation-requested.schema.json";

    public ReservationRequestReader(CheckoutProperties properties) {
        super(SCHEMA, properties.maxRequestBytes(), Set.of());
    }

    @Override
    public Read<ReservationRequested> readRecord(ConsumerRecord<byte[], byte[]> record) {
        Read<ReservationRequested> read = read(record.value());
        if (read instanceof Valid<ReservationRequested> valid) {
            ReservationRequested r = valid.request();
            return new Valid<>(new ReservationRequested(r.type(), r.idempotencyKey(), r.reservationId(), r.holdFor(),
                    record.topic() + "-" + record.partition() + "@" + record.offset()));
        }
        return read;
    }

    @Override
    protected ReservationRequested parse(JsonNode node) {
        return new ReservationRequested(
                ReservationRequested.Type.ofWire(node.get("type").asString()),
                node.has("idempotencyKey") ? new IdempotencyKey(node.get("idempotencyKey").asString()) : null,
                UUID.fromString(node.get("reservationId").asString()),
                node.has("holdFor") ? duration("/holdFor", node.get("holdFor").asString()) : null,
                null);
    }

    @Override
    protected Map<String, String> logFields(ReservationRequested request) {
        Map<String, String> fields = new HashMap<>(Map.of(LogFields.RESERVATION_ID, request.reservationId().toString()));
        if (request.idempotencyKey() != null) {
            fields.put(LogFields.IDEMPOTENCY_KEY, request.idempotencyKey().value());
        }
        return fields;
    }
}
