package io.github.checkout.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * The outcome schemas tell a single item from a cart: each form validates, and an outcome mixing them, or a
 * cart line missing a field, is refused. The published events are checked against these schemas by every
 * Kafka-level test; this checks that the schemas would notice a malformed one.
 */
class OutcomeSchemasTest {

    private static final String IDS = """
            "eventId": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "idempotencyKey": "k",
            "userId": "0b5c8a5e-2f0a-4d7e-9a51-6a8e3c1f4b20", "occurredAt": "2026-12-01T10:00:00Z\"""";
    private static final String ITEM = "\"7d1e0f2a-3b4c-4d5e-8f60-718293a4b5c6\"";
    private static final String ORDER = "\"orderId\": \"01a22fef-f181-7f09-8915-59db0ea1d1af\"";
    private static final String HOLD = "\"reservationId\": \"2b3c4d5e-6f70-4819-a2b3-c4d5e6f7a8b9\"";
    private static final String EXPIRES = "\"expiresAt\": \"2026-12-01T10:05:00Z\"";

    @ParameterizedTest(name = "{0} {1}: valid {3}")
    @CsvSource(delimiter = '|', textBlock = """
            order-created  | one item              | "itemId": ITEM, "quantity": 1, "remainingStock": 0, ORDER | true
            order-created  | a cart                | "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 0}], ORDER | true
            order-created  | both                  | "itemId": ITEM, "quantity": 1, "remainingStock": 0, "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 0}], ORDER | false
            order-created  | neither               | ORDER | false
            order-created  | a line without stock  | "lines": [{"itemId": ITEM, "quantity": 1}], ORDER | false
            order-created  | no lines              | "lines": [], ORDER | false
            out-of-stock   | a cart                | "lines": [{"itemId": ITEM, "requestedQuantity": 2, "availableStock": 1}] | true
            out-of-stock   | a cart with the item  | "itemId": ITEM, "lines": [{"itemId": ITEM, "requestedQuantity": 2, "availableStock": 1}] | false
            purchase-rejected | a cart's lines     | "errorCode": "item_not_found", "message": "m", "lines": [{"itemId": ITEM, "quantity": 1, "errorCode": "item_not_found"}] | true
            purchase-rejected | a whole cart       | "errorCode": "empty_cart", "message": "m" | true
            stock-reserved | one item              | "itemId": ITEM, "quantity": 1, "remainingStock": 0, HOLD, EXPIRES | true
            stock-reserved | a cart                | "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 0}], HOLD, EXPIRES | true
            stock-reserved | both                  | "itemId": ITEM, "quantity": 1, "remainingStock": 0, "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 0}], HOLD, EXPIRES | false
            stock-reserved | no expiresAt          | "itemId": ITEM, "quantity": 1, "remainingStock": 0, HOLD | false
            order-created  | a confirmed hold      | "itemId": ITEM, "quantity": 1, "remainingStock": 0, ORDER, HOLD | true
            reservation-released | its lines       | "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 3}], HOLD | true
            reservation-released | no lines        | HOLD | false
            reservation-expired  | its lines       | "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 3}], HOLD, EXPIRES | true
            reservation-expired  | no expiresAt    | "lines": [{"itemId": ITEM, "quantity": 1, "remainingStock": 3}], HOLD | false
            reservation-extended | a new end       | HOLD, EXPIRES | true
            purchase-rejected | an item and lines  | "itemId": ITEM, "errorCode": "item_not_found", "message": "m", "lines": [{"itemId": ITEM, "quantity": 1, "errorCode": "item_not_found"}] | false
            """)
    void outcomeSchemas_acceptEachFormAndRefuseAMix(String topic, String form, String fields, boolean valid) {
        String json = "{" + IDS + ", " + fields.replace("ITEM", ITEM).replace("ORDER", ORDER).replace("HOLD", HOLD).replace("EXPIRES", EXPIRES) + "}";

        var errors = RequestReader.loadSchema("schemas/" + topic + ".schema.json").validate(JsonMapper.shared().readTree(json));

        assertThat(errors).as(json).matches(e -> e.isEmpty() == valid, valid ? "no errors" : "errors");
    }
}
