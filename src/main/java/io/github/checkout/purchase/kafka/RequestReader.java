package io.github.checkout.purchase.kafka;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.purchase.PurchaseRequested;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.springframework.stereotype.Component;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns the bytes of one message into a {@link PurchaseRequested}, or says precisely why it is poison.
 * Validates against {@code schemas/purchase-requested.schema.json}, the same file published as the contract.
 * A quantity that is an integer but out of range is not poison: it reaches the database and is
 * answered with {@code invalid_quantity}.
 */
@Component
public class RequestReader {

    static final String SCHEMA = "schemas/purchase-requested.schema.json";

    /** What one message turned out to be. */
    public sealed interface Read permits Valid, Poison {
    }

    public record Valid(PurchaseRequested request) implements Read {
    }

    /** {@code reason} is a stable code for the dead-letter header; {@code detail} says what exactly is wrong. */
    public record Poison(Reason reason, String detail) implements Read {
    }

    public enum Reason {
        OVERSIZED("oversized"), MALFORMED_JSON("malformed_json"), SCHEMA_VIOLATION("schema_violation");

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

    public RequestReader(CheckoutProperties properties) {
        this.maxBytes = properties.maxRequestBytes();
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                builder -> builder.schemaRegistryConfig(
                        SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
        try (InputStream in = RequestReader.class.getClassLoader().getResourceAsStream(SCHEMA)) {
            if (in == null) {
                throw new IllegalStateException(SCHEMA + " is missing from the classpath");
            }
            this.schema = registry.getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Read read(byte[] value) {
        if (value == null) {
            return new Poison(Reason.MALFORMED_JSON, "message has no value (a tombstone)");
        }
        if (value.length > maxBytes) {
            return new Poison(Reason.OVERSIZED, "message has " + value.length + " bytes, the limit is " + maxBytes);
        }
        JsonNode node;
        try {
            node = mapper.readTree(value);
        } catch (JacksonException e) {
            return new Poison(Reason.MALFORMED_JSON, e.getOriginalMessage());
        }
        if (node == null || node.isMissingNode()) {
            return new Poison(Reason.MALFORMED_JSON, "message is empty");
        }
        List<Error> errors = schema.validate(node).stream().filter(e -> !isQuantityOutOfRange(e, node)).toList();
        if (!errors.isEmpty()) {
            return new Poison(Reason.SCHEMA_VIOLATION, errors.stream()
                    .map(e -> e.getInstanceLocation() + ": " + e.getMessage())
                    .collect(Collectors.joining("; ")));
        }
        JsonNode requestedAt = node.get("requestedAt");
        return new Valid(new PurchaseRequested(
                node.get("idempotencyKey").asString(),
                UUID.fromString(node.get("userId").asString()),
                UUID.fromString(node.get("itemId").asString()),
                node.has("quantity") ? node.get("quantity").asInt() : 1,
                requestedAt == null ? null : OffsetDateTime.parse(requestedAt.asString()).toInstant()));
    }

    /** An integral quantity below 1 or above 1000 is a business rejection, decided and recorded like any other. */
    private static boolean isQuantityOutOfRange(Error error, JsonNode node) {
        JsonNode quantity = node.get("quantity");
        return ("minimum".equals(error.getKeyword()) || "maximum".equals(error.getKeyword()))
                && quantity != null && quantity.isIntegralNumber() && quantity.canConvertToInt()
                && "/quantity".equals(error.getInstanceLocation().toString().replace("$.", "/").replace("$", ""));
    }
}
