package io.github.checkout.messaging;

import static java.util.stream.Collectors.toMap;
import static java.util.stream.Collectors.toSet;
import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.purchase.OrderCreated;
import io.github.checkout.purchase.OutOfStock;
import io.github.checkout.purchase.PurchaseRejected;
import io.github.checkout.purchase.StockReserved;
import io.github.checkout.refund.OrderRefunded;
import io.github.checkout.refund.RefundRejected;
import io.github.checkout.reservation.ReservationConfirmed;
import io.github.checkout.reservation.ReservationExpired;
import io.github.checkout.reservation.ReservationExtended;
import io.github.checkout.reservation.ReservationLine;
import io.github.checkout.reservation.ReservationRejected;
import io.github.checkout.reservation.ReservationReleased;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * schemas/asyncapi.yaml, the event contract as AsyncAPI, names exactly what the code does: every topic (with its
 * setting and default), every schema file, who sends and who receives, the key and headers of each outcome the
 * publishers write, and every dlt-* header and reason of the dead letters.
 */
class AsyncApiContractTest {

    private static final Path SCHEMAS = Path.of("schemas");
    private static final JsonMapper json = JsonMapper.builder().build();
    private static final SchemaRegistry draft7 = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7,
            builder -> builder.schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));

    private final Map<String, Object> document = load();
    private final CheckoutProperties properties = new Binder(new MapConfigurationPropertySource(Map.of()))
            .bindOrCreate("checkout", CheckoutProperties.class);

    @Test
    void channels_areExactlyTheTopicSettings_atTheirDefaultNames() throws Exception {
        Map<String, String> defaults = new HashMap<>();
        for (RecordComponent topic : CheckoutProperties.Topics.class.getRecordComponents()) {
            if (topic.getType() == String.class) {
                defaults.put("checkout.topics." + kebab(topic.getName()), (String) topic.getAccessor().invoke(properties.topics()));
            }
        }

        Map<String, String> documented = channels().values().stream().map(AsyncApiContractTest::map)
                .collect(toMap(c -> (String) c.get("x-checkout-setting"), c -> (String) c.get("address")));

        assertThat(documented).isEqualTo(defaults);
    }

    @Test
    void requestTopicsAreReceived_everyOtherTopicIsSent_eachByOneOperationWithTheChannelsMessages() {
        Map<String, String> actions = new HashMap<>();
        for (Object value : map(document.get("operations")).values()) {
            Map<String, Object> operation = map(value);
            String channel = (String) map(operation.get("channel")).get("$ref");
            assertThat(actions.put(channel, (String) operation.get("action"))).as("a second operation on " + channel).isNull();
            Map<String, Object> messages = map(map(resolve(channel)).get("messages"));
            List<Object> refs = list(operation.get("messages")).stream().map(m -> map(m).get("$ref")).toList();
            assertThat(refs).as(channel).containsExactlyInAnyOrderElementsOf(
                    messages.keySet().stream().map(name -> channel + "/messages/" + name).toList());
        }

        Set<String> received = Set.of(properties.topics().purchaseRequests(), properties.topics().refundRequests(),
                properties.topics().reservationRequests());
        Map<String, String> expected = channels().entrySet().stream().collect(toMap(c -> "#/channels/" + c.getKey(),
                c -> received.contains(map(c.getValue()).get("address")) ? "receive" : "send"));
        assertThat(actions).isEqualTo(expected);
    }

    @Test
    void everyPayloadIsASchemaFileBesideTheDocument_inItsDialect_andEverySchemaFileIsUsed() throws IOException {
        Set<Path> referenced = new HashSet<>();
        for (Object value : map(map(document.get("components")).get("messages")).values()) {
            Map<String, Object> message = map(value);
            Map<String, Object> payload = map(message.get("payload"));
            if (!payload.containsKey("schema")) {
                assertThat(message.get("name")).as("only a dead letter carries bytes of no schema").isEqualTo("DeadLetter");
                continue;
            }
            Path file = SCHEMAS.resolve((String) map(payload.get("schema")).get("$ref")).normalize();
            assertThat(file).as(message.get("name") + "'s payload").isRegularFile();
            referenced.add(file);
            JsonNode schema = json.readTree(file.toFile());
            assertThat(schema.get("title").asString()).isEqualTo(message.get("name"));
            assertThat(schema.get("$schema").asString()).isEqualTo("https://json-schema.org/draft/2020-12/schema");
            assertThat(payload.get("schemaFormat")).isEqualTo("application/schema+json;version=2020-12");
        }
        try (Stream<Path> files = Files.list(SCHEMAS)) {
            assertThat(referenced).isEqualTo(files.filter(f -> f.toString().endsWith(".schema.json")).map(Path::normalize)
                    .collect(toSet()));
        }
        assertThat(refs(document)).allSatisfy(ref -> assertThat(ref.startsWith("#/") ? resolve(ref) != null
                : Files.isRegularFile(SCHEMAS.resolve(ref))).as(ref).isTrue());
    }

    @Test
    void everyOutcomeGoesToItsChannel_withTheKeyHeadersAndPayloadItsMessageDescribes() throws Exception {
        Captured captured = new Captured();
        EventPublisher events = new EventPublisher(captured, json);
        UUID item = UUID.randomUUID();
        UUID order = UUID.randomUUID();
        UUID hold = UUID.randomUUID();
        Instant now = Instant.now();
        publish("io.github.checkout.purchase.kafka.OutcomePublisher", events, List.of(
                new OrderCreated(UUID.randomUUID(), "k", order, UUID.randomUUID(), item, 1, 9, now),
                new OutOfStock(UUID.randomUUID(), "k", UUID.randomUUID(), item, 2, 1, now),
                new PurchaseRejected(UUID.randomUUID(), "k", UUID.randomUUID(), item, "item_not_found", "no such item", now),
                new OrderCreated(UUID.randomUUID(), "c", order, UUID.randomUUID(), null, null, null,
                        List.of(new OrderCreated.Line(item, 2, 7), new OrderCreated.Line(UUID.randomUUID(), 1, 0)), now),
                new OutOfStock(UUID.randomUUID(), "c", UUID.randomUUID(), null, null, null,
                        List.of(new OutOfStock.Line(item, 2, 1)), now),
                new PurchaseRejected(UUID.randomUUID(), "c", UUID.randomUUID(), null, "invalid_quantity", "bad quantity",
                        List.of(new PurchaseRejected.Line(item, 0, "invalid_quantity")), now),
                new PurchaseRejected(UUID.randomUUID(), "c", UUID.randomUUID(), null, "empty_cart", "no lines", null, now),
                new StockReserved(UUID.randomUUID(), "h", hold, UUID.randomUUID(), item, 2, 7, null, now.plusSeconds(300), now),
                new StockReserved(UUID.randomUUID(), "h", hold, UUID.randomUUID(), null, null, null,
                        List.of(new OrderCreated.Line(item, 2, 7)), now.plusSeconds(300), now)));
        publish("io.github.checkout.refund.kafka.RefundOutcomePublisher", events, List.of(
                new OrderRefunded(UUID.randomUUID(), "r", order, item, 1, 10, now),
                new OrderRefunded(UUID.randomUUID(), "r", order, null, 1002, null,
                        List.of(new OrderRefunded.Line(item, 1000, 1000), new OrderRefunded.Line(UUID.randomUUID(), 2, 2)), now),
                new RefundRejected(UUID.randomUUID(), "r", order, item, "line_not_found", "no such line", now),
                new RefundRejected(UUID.randomUUID(), "r", order, item, "already_refunded", "nothing left", now),
                new RefundRejected(UUID.randomUUID(), "r", UUID.randomUUID(), null, "order_not_found", "no such order", now)));

        List<ReservationLine> lines = List.of(new ReservationLine(item, 2, 9), new ReservationLine(UUID.randomUUID(), 1, 1));
        publish("io.github.checkout.reservation.kafka.ReservationOutcomePublisher", events, List.of(
                new ReservationConfirmed(new OrderCreated(UUID.randomUUID(), "c", order, hold, UUID.randomUUID(), item, 2, 7,
                        null, now)),
                new ReservationConfirmed(new OrderCreated(UUID.randomUUID(), "c", order, hold, UUID.randomUUID(), null, null,
                        null, List.of(new OrderCreated.Line(item, 2, 7)), now)),
                new ReservationReleased(UUID.randomUUID(), "r", hold, UUID.randomUUID(), lines, now),
                new ReservationExtended(UUID.randomUUID(), "e", hold, UUID.randomUUID(), now.plusSeconds(300), now),
                new ReservationExpired(UUID.randomUUID(), "h", hold, UUID.randomUUID(), lines, now, now),
                new ReservationRejected(UUID.randomUUID(), "c", hold, "reservation_expired", "too late", now)));

        Set<String> sentTo = new HashSet<>();
        for (ProducerRecord<byte[], byte[]> record : captured.sent) {
            sentTo.add(record.topic());
            Map<String, Object> message = onlyMessage(record.topic());
            Map<String, Object> headers = map(resolveAll(message.get("headers")));
            Map<String, String> written = headers(record);
            assertThat(map(map(headers.get("properties")).get("event-type")).get("const"))
                    .isEqualTo(written.get("event-type")).isEqualTo(message.get("name"));
            assertValid(draft7.getSchema(json.valueToTree(headers)), written, record.topic() + " headers");
            Map<String, Object> kafka = map(map(message.get("bindings")).get("kafka"));
            assertValid(draft7.getSchema(json.valueToTree(kafka.get("key"))), text(record.key()), record.topic() + " key");
            JsonNode value = json.readTree(record.value());
            Path payload = SCHEMAS.resolve((String) map(map(message.get("payload")).get("schema")).get("$ref"));
            assertValid(RequestReader.loadSchema("schemas/" + payload.getFileName()), value, record.topic() + " payload");
            String keyField = list(kafka.get("x-checkout-key-from")).stream().map(String.class::cast)
                    .filter(field -> value.hasNonNull(field)).findFirst().orElseThrow();
            assertThat(text(record.key())).as(record.topic() + " key").isEqualTo(value.get(keyField).asString());
        }
        CheckoutProperties.Topics t = properties.topics();
        assertThat(sentTo).isEqualTo(Set.of(t.orderCreated(), t.outOfStock(), t.purchaseRejected(), t.orderRefunded(),
                t.refundRejected(), t.stockReserved(), t.reservationReleased(), t.reservationExtended(), t.reservationExpired(),
                t.reservationRejected()));
    }

    @Test
    void deadLettersCarryExactlyTheDocumentedHeaders_andEveryReasonTheCodeGives() {
        Map<String, Object> headers = map(resolveAll(onlyMessage(properties.topics().purchaseRequestsDeadLetter()).get("headers")));
        assertThat(onlyMessage(properties.topics().refundRequestsDeadLetter())).isEqualTo(
                onlyMessage(properties.topics().purchaseRequestsDeadLetter()));
        assertThat(onlyMessage(properties.topics().reservationRequestsDeadLetter())).isEqualTo(
                onlyMessage(properties.topics().purchaseRequestsDeadLetter()));
        Schema schema = draft7.getSchema(json.valueToTree(headers));

        List<String> reasons = new ArrayList<>(Arrays.stream(RequestReader.Reason.values()).map(r -> r.code).toList());
        reasons.add(BatchProcessor.UNDECIDABLE);
        assertThat(list(map(map(headers.get("properties")).get(DeadLetters.REASON)).get("enum")))
                .containsExactlyInAnyOrderElementsOf(reasons);

        var original = new RecordHeaders().add("trace-id", "t-1".getBytes(StandardCharsets.UTF_8))
                .add("big", "b".repeat(1_000).getBytes(StandardCharsets.UTF_8)).add(DeadLetters.REASON, "theirs".getBytes(StandardCharsets.UTF_8));
        var record = new ConsumerRecord<>("purchase-requests", 3, 42L, 0L, TimestampType.CREATE_TIME, 300, 5,
                new byte[300], "{oops".getBytes(StandardCharsets.UTF_8), original, Optional.empty());
        Set<String> whole = new HashSet<>();
        Set<String> cut = new HashSet<>();
        for (String reason : reasons) {
            Map<String, String> w = headers(DeadLetters.whole("purchase-requests.DLT", record, reason, "why"));
            Map<String, String> c = headers(DeadLetters.cut("purchase-requests.DLT", record, reason, "why", DeadLetters.LAST_CUT));
            assertValid(schema, w, reason + " whole");
            assertValid(schema, c, reason + " cut");
            whole.addAll(ours(w));
            cut.addAll(ours(c));
        }
        assertThat(whole).as("the headers every dead letter has").isEqualTo(Set.copyOf(list(headers.get("required"))));
        assertThat(cut).as("every dlt-* header").isEqualTo(map(headers.get("properties")).keySet());
    }

    /** Records what is sent instead of sending it. */
    private static final class Captured extends KafkaTemplate<byte[], byte[]> {

        final List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();

        Captured() {
            super(new DefaultKafkaProducerFactory<>(Map.of()));
        }

        @Override
        public CompletableFuture<SendResult<byte[], byte[]>> send(ProducerRecord<byte[], byte[]> record) {
            sent.add(record);
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Runs a feature's package-private outcome publisher, as the listener does. */
    private void publish(String publisher, EventPublisher events, List<?> outcomes) throws Exception {
        Class<?> type = Class.forName(publisher);
        var constructor = type.getDeclaredConstructor(EventPublisher.class, CheckoutProperties.class);
        constructor.setAccessible(true);
        var publish = type.getDeclaredMethod("publish", List.class);
        publish.setAccessible(true);
        publish.invoke(constructor.newInstance(events, properties), outcomes);
    }

    private static void assertValid(Schema schema, Object instance, String what) {
        JsonNode node = instance instanceof JsonNode n ? n : json.valueToTree(instance);
        assertThat(schema.validate(node)).as(what + ": " + node).isEmpty();
    }

    private Map<String, Object> channels() {
        return map(document.get("channels"));
    }

    /** The one message of the channel at this address, its local references resolved. */
    private Map<String, Object> onlyMessage(String address) {
        Map<String, Object> channel = channels().values().stream().map(AsyncApiContractTest::map)
                .filter(c -> address.equals(c.get("address"))).findFirst().orElseThrow(() -> new AssertionError("no channel " + address));
        assertThat(map(channel.get("messages"))).as(address).hasSize(1);
        return map(resolveAll(map(channel.get("messages")).values().iterator().next()));
    }

    /** A local reference, {@code #/a/b}, resolved in the document; null when it names nothing. */
    private Object resolve(String ref) {
        Object node = document;
        for (String part : ref.substring(2).split("/")) {
            node = node instanceof Map<?, ?> m ? m.get(part) : null;
        }
        return node;
    }

    /** A copy of {@code node} with every local reference replaced by what it names. */
    private Object resolveAll(Object node) {
        if (node instanceof Map<?, ?> m) {
            if (m.get("$ref") instanceof String ref && ref.startsWith("#/")) {
                return resolveAll(resolve(ref));
            }
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, v) -> copy.put((String) k, resolveAll(v)));
            return copy;
        }
        if (node instanceof List<?> l) {
            return l.stream().map(this::resolveAll).toList();
        }
        return node;
    }

    private static List<String> refs(Object node) {
        List<String> refs = new ArrayList<>();
        if (node instanceof Map<?, ?> m) {
            if (m.get("$ref") instanceof String ref) {
                refs.add(ref);
            }
            m.values().forEach(v -> refs.addAll(refs(v)));
        } else if (node instanceof List<?> l) {
            l.forEach(v -> refs.addAll(refs(v)));
        }
        return refs;
    }

    private static Map<String, String> headers(ProducerRecord<byte[], byte[]> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            headers.put(header.key(), text(header.value()));
        }
        return headers;
    }

    private static Set<String> ours(Map<String, String> headers) {
        return headers.keySet().stream().filter(h -> h.startsWith("dlt-")).collect(toSet());
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([A-Z])", "-$1").toLowerCase();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object node) {
        assertThat(node).isInstanceOf(Map.class);
        return (Map<String, Object>) node;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object node) {
        assertThat(node).isInstanceOf(List.class);
        return (List<Object>) node;
    }

    private static Map<String, Object> load() {
        try (Reader in = Files.newBufferedReader(SCHEMAS.resolve("asyncapi.yaml"))) {
            return new Yaml().load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
