package io.github.checkout.messaging;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.NodePath;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns the bytes of one request message into a request of type {@code T}, or says precisely why it
 * is poison. Validates against a JSON Schema from {@code schemas/}, the same file published as the
 * contract; a subclass names the schema and builds the request from a node that passed it. A value
 * outside its schema's range, at one of the {@code decidedRanges}, is not poison: it reaches the database and
 * is answered there ({@code invalid_quantity}, {@code empty_cart}, ...). That is an integer that fits an int
 * beyond {@code minimum} or {@code maximum}, or an array beyond {@code minItems} or {@code maxItems}. A decided
 * range is a JSON Pointer in which {@code *} stands for any array index: {@code /quantity},
 * {@code /lines/*}{@code /quantity}.
 */
public abstract class RequestReader<T> {

    /** What one message turned out to be. */
    public sealed interface Read<T> permits Valid, Poison {
    }

    public record Valid<T>(T request) implements Read<T> {
    }

    /**
     * {@code reason} is a stable code for the dead-letter header; {@code detail} says what exactly is wrong;
     * {@code known}, the {@link LogFields} that name the request, as far as its JSON could be read.
     */
    public record Poison<T>(Reason reason, String detail, Map<String, String> known) implements Read<T> {

        public Poison {
            known = Map.copyOf(known);
        }

        public Poison(Reason reason, String detail) {
            this(reason, detail, Map.of());
        }
    }

    /** The JSON fields that name a request, and the log fields they go to. */
    private static final Map<String, String> NAMING = Map.of(
            "idempotencyKey", LogFields.IDEMPOTENCY_KEY, "itemId", LogFields.ITEM_ID, "orderId", LogFields.ORDER_ID,
            "reservationId", LogFields.RESERVATION_ID);

    public enum Reason {
        OVERSIZED("oversized"), MALFORMED_JSON("malformed_json"), SCHEMA_VIOLATION("schema_violation"),
        /** Passes the schema, yet a text cannot be kept: it holds U+0000 or half a surrogate pair (no PostgreSQL form). */
        UNREPRESENTABLE("unrepresentable");

        public final String code;

        Reason(String code) {
            this.code = code;
        }
    }

    private final JsonMapper mapper = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private final Schema schema;
    private final int maxBytes;
    private final Set<String> decidedRanges;

    protected RequestReader(String schemaResource, int maxBytes, Set<String> decidedRanges) {
        this.maxBytes = maxBytes;
        this.decidedRanges = Set.copyOf(decidedRanges);
        this.schema = loadSchema(schemaResource);
    }

    /** A JSON Schema (draft 2020-12) from the classpath, with {@code format} asserted, not just annotated. */
    public static Schema loadSchema(String resource) {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                builder -> builder.schemaRegistryConfig(
                        SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
        try (InputStream in = RequestReader.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the classpath");
            }
            return registry.getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Builds the request from a message that passed the schema. */
    protected abstract T parse(JsonNode node);

    /** The {@link LogFields} that name a request in a log line about it: its idempotency key, its item or order. */
    protected abstract Map<String, String> logFields(T request);

    /**
     * A shortcut for the common message, tried before the tree and the schema: the request, or null when
     * unsure, and then the full path decides as if there were no shortcut. The rule: it may only return a
     * request for a message the schema accepts, and it must be the same request {@link #parse} builds from
     * it. Everything else, poison in particular, is left to the full path, which alone words the reasons.
     */
    protected T readFast(byte[] value) {
        return null;
    }

    /**
     * Thrown by {@link #parse} for a value the schema lets through but which still breaks the contract (a duration
     * that {@link java.time.Duration#parse} refuses): poison as a {@code schema_violation}, with this message.
     */
    protected static final class OutsideSchema extends IllegalArgumentException {

        public OutsideSchema(String message) {
            super(message);
        }
    }

    /**
     * A duration as {@link Duration#parse} reads it ({@code PT5M}), for a value the schema's pattern let through;
     * one it refuses ({@code P}, {@code PT}, more hours than it holds) is a schema violation at {@code pointer}.
     */
    protected static Duration duration(String pointer, String text) {
        try {
            return Duration.parse(text);
        } catch (DateTimeParseException e) {
            throw new OutsideSchema(pointer + ": \"" + LogFields.capped(text) + "\" is no ISO-8601 duration java.time.Duration reads ("
                    + e.getMessage() + ")");
        }
    }

    /**
     * Reads one record. A reader that needs more than the value (the record's coordinates) overrides this;
     * everything else goes through {@link #read(byte[])}.
     */
    public Read<T> readRecord(ConsumerRecord<byte[], byte[]> record) {
        return read(record.value());
    }

    /** A streaming parser set up like the one the full path reads with: a repeated property is an error. */
    protected final JsonParser createParser(byte[] value) {
        return mapper.createParser(value);
    }

    public final Read<T> read(byte[] value) {
        if (value == null) {
            return new Poison<>(Reason.MALFORMED_JSON, "message has no value (a tombstone)");
        }
        if (value.length > maxBytes) {
            return new Poison<>(Reason.OVERSIZED, "message has " + value.length + " bytes, the limit is " + maxBytes);
        }
        T fast = readFast(value);
        if (fast != null) {
            return new Valid<>(fast);
        }
        JsonNode node;
        try {
            node = mapper.readTree(value);
        } catch (JacksonException e) {
            return new Poison<>(Reason.MALFORMED_JSON, e.getOriginalMessage());
        }
        if (node == null || node.isMissingNode()) {
            return new Poison<>(Reason.MALFORMED_JSON, "message is empty");
        }
        List<Error> errors = schema.validate(node).stream().filter(e -> !isDecidedRange(e, node)).toList();
        if (!errors.isEmpty()) {
            return new Poison<>(Reason.SCHEMA_VIOLATION, errors.stream()
                    .map(e -> e.getInstanceLocation() + ": " + e.getMessage())
                    .collect(Collectors.joining("; ")), known(node));
        }
        try {
            return new Valid<>(parse(node));
        } catch (IllegalArgumentException e) {
            return new Poison<>(e instanceof OutsideSchema ? Reason.SCHEMA_VIOLATION : Reason.UNREPRESENTABLE, e.getMessage(),
                    known(node));
        }
    }

    /** What names the request in a message that parsed but is poison: each naming field that is a string. */
    private static Map<String, String> known(JsonNode node) {
        Map<String, String> known = new TreeMap<>();
        NAMING.forEach((json, field) -> {
            JsonNode value = node.get(json);
            if (value != null && value.isString()) {
                known.put(field, LogFields.capped(value.asString()));
            }
        });
        return known;
    }

    /** A value out of its range, where the database decides the range, is a business rejection. */
    private boolean isDecidedRange(Error error, JsonNode node) {
        NodePath location = error.getInstanceLocation();
        if (!decidedRanges.contains(pattern(location))) {
            return false;
        }
        JsonNode value = node;
        for (int i = 0; i < location.getNameCount() && value != null; i++) {
            value = location.getElement(i) instanceof Integer index ? value.get(index) : value.get(location.getName(i));
        }
        if (value == null) {
            return false;
        }
        return switch (error.getKeyword()) {
            case "minimum", "maximum" -> value.isIntegralNumber() && value.canConvertToInt();
            case "minItems", "maxItems" -> value.isArray();
            default -> false;
        };
    }

    /** The location as a JSON Pointer with {@code *} for each array index: {@code /lines/3/quantity} is {@code /lines/*}{@code /quantity}. */
    private static String pattern(NodePath location) {
        StringBuilder pattern = new StringBuilder();
        for (int i = 0; i < location.getNameCount(); i++) {
            pattern.append('/').append(location.getElement(i) instanceof Integer ? "*"
                    : location.getName(i).replace("~", "~0").replace("/", "~1"));
        }
        return pattern.toString();
    }
}
