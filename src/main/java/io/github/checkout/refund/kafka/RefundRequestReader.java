package io.github.checkout.refund.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.LogFields;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.refund.RefundRequested;
import io.github.checkout.request.IdempotencyKey;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Reads a {@link RefundRequested} checked against {@code schemas/refund-requested.schema.json}. A
 * quantity that is an integer but out of range is not poison: it is answered with {@code invalid_quantity}.
 */
@Component
public class RefundRequestReader extends RequestReader<RefundRequested> {

    static final String SCHEMA = "schemas/refund-requested.schema.json";

    public RefundRequestReader(CheckoutProperties properties) {
        super(SCHEMA, properties.maxRequestBytes(), Set.of("/quantity"));
    }

    @Override
    protected RefundRequested parse(JsonNode node) {
        return new RefundRequested(
                new IdempotencyKey(node.get("idempotencyKey").asString()),
                UUID.fromString(node.get("orderId").asString()),
                node.has("itemId") ? UUID.fromString(node.get("itemId").asString()) : null,
                node.has("quantity") ? Integer.valueOf(node.get("quantity").asInt()) : null,
                node.get("reason").asString());
    }

    /** The item, when the request names a line; otherwise only the order's rows in the database know it. */
    @Override
    protected Map<String, String> logFields(RefundRequested request) {
        Map<String, String> fields = new HashMap<>(Map.of(
                LogFields.IDEMPOTENCY_KEY, request.idempotencyKey().value(), LogFields.ORDER_ID, request.orderId().toString()));
        if (request.itemId() != null) {
            fields.put(LogFields.ITEM_ID, request.itemId().toString());
        }
        return fields;
    }
}
