package io.github.checkout.purchase.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.LogFields;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.purchase.PurchaseRequested;
import io.github.checkout.request.IdempotencyKey;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.stereotype.Component;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;

/**
 * Reads a {@link PurchaseRequested}, one item or a cart, checked against
 * {@code schemas/purchase-requested.schema.json}. A quantity that is an integer but out of range is not
 * poison: it is answered with {@code invalid_quantity}; nor is a cart of no lines or of more than 50
 * ({@code empty_cart}, {@code too_many_lines}); nor is a {@code holdFor} out of range ({@code invalid_hold}), while one
 * that {@link java.time.Duration#parse} refuses is. {@code requestedAt} is the sender's own: any value passes, and it
 * is not read.
 */
@Component
public class PurchaseRequestReader extends RequestReader<PurchaseRequested> {

    static final String SCHEMA = "schemas/purchase-requested.schema.json";

    public PurchaseRequestReader(CheckoutProperties properties) {
        super(SCHEMA, properties.maxRequestBytes(), Set.of("/quantity", "/lines", "/lines/*/quantity"));
    }

    @Override
    protected PurchaseRequested parse(JsonNode node) {
        PurchaseRequested request = parseBuyNow(node);
        return node.has("holdFor") ? request.withHoldFor(duration("/holdFor", node.get("holdFor").asString())) : request;
    }

    private static PurchaseRequested parseBuyNow(JsonNode node) {
        IdempotencyKey key = new IdempotencyKey(node.get("idempotencyKey").asString());
        UUID user = UUID.fromString(node.get("userId").asString());
        if (node.has("lines")) {
            List<PurchaseRequested.Line> lines = new ArrayList<>();
            for (JsonNode line : node.get("lines")) {
                lines.add(new PurchaseRequested.Line(UUID.fromString(line.get("itemId").asString()), line.get("quantity").asInt()));
            }
            return PurchaseRequested.cart(key, user, lines);
        }
        return new PurchaseRequested(key, user, UUID.fromString(node.get("itemId").asString()),
                node.has("quantity") ? node.get("quantity").asInt() : 1);
    }

    /** A cart spans items: only its key names it. */
    @Override
    protected Map<String, String> logFields(PurchaseRequested request) {
        return request.isCart()
                ? Map.of(LogFields.IDEMPOTENCY_KEY, request.idempotencyKey().value())
                : Map.of(LogFields.IDEMPOTENCY_KEY, request.idempotencyKey().value(), LogFields.ITEM_ID, request.itemId().toString());
    }

    /**
     * Accepts only an object with no properties but the five known ones, each a string, except quantity,
     * an integer that fits an int; a key of 1 to 200 chars and two UUIDs in their 36-char form. Every such
     * message passes the schema. A requestedAt string is decoded like the others, then dropped, so bytes
     * that are not UTF-8 are refused as the full path refuses them. A cart is left to the full path: {@code lines} is
     * not one of the five.
     */
    @Override
    protected PurchaseRequested readFast(byte[] value) {
        String key = null;
        String userId = null;
        String itemId = null;
        int quantity = 1;
        try (JsonParser parser = createParser(value)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            for (String name = parser.nextName(); name != null; name = parser.nextName()) {
                JsonToken token = parser.nextToken();
                if (name.equals("quantity")) {
                    if (token != JsonToken.VALUE_NUMBER_INT || parser.getNumberType() != JsonParser.NumberType.INT) {
                        return null;
                    }
                    quantity = parser.getIntValue();
                    continue;
                }
                if (token != JsonToken.VALUE_STRING) {
                    return null;
                }
                switch (name) {
                    case "idempotencyKey" -> key = parser.getString();
                    case "userId" -> userId = parser.getString();
                    case "itemId" -> itemId = parser.getString();
                    case "requestedAt" -> parser.getString();
                    default -> {
                        return null;
                    }
                }
            }
            if (parser.nextToken() != null) {
                return null;
            }
        } catch (JacksonException e) {
            return null;
        }
        if (key == null || key.isEmpty() || key.length() > IdempotencyKey.MAX_LENGTH || !isUuid(userId) || !isUuid(itemId)) {
            return null;
        }
        try {
            return new PurchaseRequested(new IdempotencyKey(key), UUID.fromString(userId), UUID.fromString(itemId), quantity);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** 36 chars, ASCII hex digits with '-' at 8, 13, 18 and 23: what both the schema's pattern and format accept. */
    private static boolean isUuid(String value) {
        if (value == null || value.length() != 36) {
            return false;
        }
        for (int i = 0; i < 36; i++) {
            char c = value.charAt(i);
            if (i == 8 || i == 13 || i == 18 || i == 23 ? c != '-' : !HexFormat.isHexDigit(c)) {
                return false;
            }
        }
        return true;
    }
}
