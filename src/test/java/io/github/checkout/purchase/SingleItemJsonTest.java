package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.refund.OrderRefunded;
import io.github.checkout.refund.RefundRejected;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The outcomes of single-item requests are written byte for byte as before carts existed. */
class SingleItemJsonTest {

    private static final UUID EVENT = UUID.fromString("00000000-0000-4000-8000-000000000001");
    private static final UUID ORDER = UUID.fromString("00000000-0000-4000-8000-000000000002");
    private static final UUID USER = UUID.fromString("00000000-0000-4000-8000-000000000003");
    private static final UUID ITEM = UUID.fromString("00000000-0000-4000-8000-000000000004");
    private static final Instant AT = Instant.parse("2026-11-30T12:00:00.123456Z");

    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void singleItemPurchaseOutcomes_areWrittenAsBefore() {
        assertThat(json.writeValueAsString(new OrderCreated(EVENT, "k", ORDER, USER, ITEM, 2, 8, AT))).isEqualTo("""
                {"eventId":"%s","idempotencyKey":"k","orderId":"%s","userId":"%s","itemId":"%s","quantity":2,\
                "remainingStock":8,"occurredAt":"2026-11-30T12:00:00.123456Z"}""".formatted(EVENT, ORDER, USER, ITEM));
        assertThat(json.writeValueAsString(new OutOfStock(EVENT, "k", USER, ITEM, 3, 0, AT))).isEqualTo("""
                {"eventId":"%s","idempotencyKey":"k","userId":"%s","itemId":"%s","requestedQuantity":3,\
                "availableStock":0,"occurredAt":"2026-11-30T12:00:00.123456Z"}""".formatted(EVENT, USER, ITEM));
        assertThat(json.writeValueAsString(new PurchaseRejected(EVENT, "k", USER, ITEM, "item_not_found", "no item", AT)))
                .isEqualTo("""
                {"eventId":"%s","idempotencyKey":"k","userId":"%s","itemId":"%s","errorCode":"item_not_found",\
                "message":"no item","occurredAt":"2026-11-30T12:00:00.123456Z"}""".formatted(EVENT, USER, ITEM));
    }

    @Test
    void singleItemRefundOutcomes_areWrittenAsBefore() {
        assertThat(json.writeValueAsString(new OrderRefunded(EVENT, "r", ORDER, ITEM, 1, 9, AT))).isEqualTo("""
                {"eventId":"%s","idempotencyKey":"r","orderId":"%s","itemId":"%s","quantity":1,"remainingStock":9,\
                "occurredAt":"2026-11-30T12:00:00.123456Z"}""".formatted(EVENT, ORDER, ITEM));
        assertThat(json.writeValueAsString(new RefundRejected(EVENT, "r", ORDER, null, "order_not_found", "no order", AT)))
                .as("an unknown order's item is written as null, as before").isEqualTo("""
                {"eventId":"%s","idempotencyKey":"r","orderId":"%s","itemId":null,"errorCode":"order_not_found",\
                "message":"no order","occurredAt":"2026-11-30T12:00:00.123456Z"}""".formatted(EVENT, ORDER));
    }
}
