package io.github.checkout.purchase.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.purchase.PurchaseRequested;
import java.time.OffsetDateTime;
import java.util.Set;
import java.util.UUID;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Reads a {@link PurchaseRequested} checked against {@code schemas/purchase-requested.schema.json}. A
 * quantity that is an integer but out of range is not poison: it is answered with {@code invalid_quantity}.
 */
@Component
public class PurchaseRequestReader extends RequestReader<PurchaseRequested> {

    static final String SCHEMA = "schemas/purchase-requested.schema.json";

    public PurchaseRequestReader(CheckoutProperties properties) {
        super(SCHEMA, properties.maxRequestBytes(), Set.of("quantity"));
    }

    @Override
    protected PurchaseRequested parse(JsonNode node) {
        JsonNode requestedAt = node.get("requestedAt");
        return new PurchaseRequested(
                node.get("idempotencyKey").asString(),
                UUID.fromString(node.get("userId").asString()),
                UUID.fromString(node.get("itemId").asString()),
                node.has("quantity") ? node.get("quantity").asInt() : 1,
                requestedAt == null ? null : OffsetDateTime.parse(requestedAt.asString()).toInstant());
    }
}
