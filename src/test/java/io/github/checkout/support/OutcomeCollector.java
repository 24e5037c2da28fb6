package io.github.checkout.support;

import com.networknt.schema.Schema;
import io.github.checkout.messaging.RequestReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One read_committed consumer, for the whole test JVM, of every topic the service writes. Each
 * outcome it sees is checked against its JSON Schema in {@code schemas/}; a record that does not
 * validate is kept in {@link #schemaViolations()}, which tests assert to be empty.
 */
public final class OutcomeCollector {

    public static final String ORDER_CREATED = "order-created";
    public static final String OUT_OF_STOCK = "out-of-stock";
    public static final String PURCHASE_REJECTED = "purchase-rejected";
    public static final String ORDER_REFUNDED = "order-refunded";
    public static final String REFUND_REJECTED = "refund-rejected";
    public static final String DEAD_LETTER = "purchase-requests.DLT";
    public static final String REFUND_DEAD_LETTER = "refund-requests.DLT";
    public static final String STOCK_RESERVED = "stock-reserved";
    public static final String RESERVATION_RELEASED = "reservation-released";
    public static final String RESERVATION_EXTENDED = "reservation-extended";
    public static final String RESERVATION_EXPIRED = "reservation-expired";
    public static final String RESERVATION_REJECTED = "reservation-rejected";
    public static final String RESERVATION_DEAD_LETTER = "reservation-requests.DLT";

    /** Every outcome topic; each one's schema is {@code schemas/<topic>.schema.json}. */
    private static final List<String> OUTCOME_TOPICS = List.of(
            ORDER_CREATED, OUT_OF_STOCK, PURCHASE_REJECTED, ORDER_REFUNDED, REFUND_REJECTED, STOCK_RESERVED,
            RESERVATION_RELEASED, RESERVATION_EXTENDED, RESERVATION_EXPIRED, RESERVATION_REJECTED);
    private static final List<String> DEAD_LETTER_TOPICS = List.of(DEAD_LETTER, REFUND_DEAD_LETTER, RESERVATION_DEAD_LETTER);

    private static OutcomeCollector shared;

    /** A consumed outcome: its topic, the parsed value and the raw record. */
    public record Outcome(String topic, JsonNode value, ConsumerRecord<String, String> record) {

        public String text(String field) {
            return value.get(field).asString();
        }
    }

    private final List<Outcome> seen = new CopyOnWriteArrayList<>();
    private final List<String> schemaViolations = new CopyOnWriteArrayList<>();
    private final Map<String, Schema> schemas;
    private final JsonMapper json = JsonMapper.builder().build();

    private OutcomeCollector() {
        schemas = OUTCOME_TOPICS.stream().collect(Collectors.toMap(topic -> topic,
                topic -> RequestReader.loadSchema("schemas/" + topic + ".schema.json")));
        Thread thread = new Thread(this::consume, "outcome-collector");
        thread.setDaemon(true);
        thread.start();
    }

    public static synchronized OutcomeCollector shared() {
        if (shared == null) {
            shared = new OutcomeCollector();
        }
        return shared;
    }

    /** Outcomes (not dead letters) whose Kafka key is this item id (or, for an unknown order's refund, this order id). */
    public List<Outcome> forItem(UUID item) {
        String key = item.toString();
        return seen.stream().filter(o -> !isDeadLetter(o) && key.equals(o.record().key())).toList();
    }

    public List<Outcome> forItem(UUID item, String topic) {
        return forItem(item).stream().filter(o -> o.topic().equals(topic)).toList();
    }

    /** Outcomes (not dead letters) that answer the request with this idempotency key. */
    public List<Outcome> forRequest(String idempotencyKey) {
        return seen.stream().filter(o -> !isDeadLetter(o) && idempotencyKey.equals(o.text("idempotencyKey"))).toList();
    }

    /** Outcomes (not dead letters) of the requests whose idempotency keys start with the prefix, by key. */
    public Map<String, List<Outcome>> byKeyPrefix(String prefix) {
        return seen.stream().filter(o -> !isDeadLetter(o) && o.text("idempotencyKey").startsWith(prefix))
                .collect(Collectors.groupingBy(o -> o.text("idempotencyKey")));
    }

    /** Messages on any dead-letter topic. */
    public List<Outcome> deadLetters() {
        return seen.stream().filter(OutcomeCollector::isDeadLetter).toList();
    }

    private static boolean isDeadLetter(Outcome outcome) {
        return DEAD_LETTER_TOPICS.contains(outcome.topic());
    }

    public List<String> schemaViolations() {
        return List.copyOf(schemaViolations);
    }

    private void consume() {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "outcome-collector-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        try (var consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(Stream.concat(OUTCOME_TOPICS.stream(), DEAD_LETTER_TOPICS.stream()).toList());
            while (true) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                    accept(record);
                }
            }
        }
    }

    private void accept(ConsumerRecord<String, String> record) {
        JsonNode value = null;
        if (!DEAD_LETTER_TOPICS.contains(record.topic())) {
            value = json.readTree(record.value());
            var errors = schemas.get(record.topic()).validate(value);
            if (!errors.isEmpty()) {
                schemaViolations.add(record.topic() + " " + record.value() + " " + errors);
            }
        }
        seen.add(new Outcome(record.topic(), value, record));
    }

    static String header(ConsumerRecord<?, ?> record, String name) {
        var header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    public static List<String> headers(ConsumerRecord<?, ?> record, String... names) {
        List<String> values = new ArrayList<>();
        for (String name : names) {
            values.add(header(record, name));
        }
        return values;
    }
}
