package io.github.checkout.refund.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.LogFields;
import io.github.checkout.messaging.RequestReader.Poison;
import io.github.checkout.messaging.RequestReader.Reason;
import io.github.checkout.messaging.RequestReader.Valid;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.refund.RefundRequested;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.ReaderProperties;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class RefundRequestReaderTest {

    private static final UUID ORDER = UUID.fromString("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b");

    private final RefundRequestReader reader = new RefundRequestReader(ReaderProperties.withMaxRequestBytes(1024));

    @Test
    void completeRequest_isRead() {
        RefundRequested request = valid("""
                {"idempotencyKey":"r1","orderId":"%s","quantity":2,"reason":"customer_return","note":"extra fields pass"}"""
                .formatted(ORDER));
        assertThat(request).isEqualTo(new RefundRequested(new IdempotencyKey("r1"), ORDER, 2, RefundRequested.CUSTOMER_RETURN));
    }

    @Test
    void itemId_namesTheLineToRefund() {
        UUID item = UUID.randomUUID();
        assertThat(valid("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"itemId\":\"%s\",\"reason\":\"cancelled\"}"
                .formatted(ORDER, item))).isEqualTo(new RefundRequested(new IdempotencyKey("r"), ORDER, item, null, RefundRequested.CANCELLED));
        assertThat(valid("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"reason\":\"cancelled\"}".formatted(ORDER)).itemId())
                .as("absent: the whole order").isNull();
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"itemId\":\"no\",\"reason\":\"cancelled\"}".formatted(ORDER),
                "/itemId");
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"itemId\":7,\"reason\":\"cancelled\"}".formatted(ORDER),
                "/itemId");
    }

    @Test
    void aLineToRefund_isNamedInTheLogByItsItem() {
        UUID item = UUID.randomUUID();
        assertThat(reader.logFields(new RefundRequested(new IdempotencyKey("r"), ORDER, item, null, RefundRequested.CANCELLED)))
                .isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "r", LogFields.ORDER_ID, ORDER.toString(), LogFields.ITEM_ID, item.toString()));
        assertThat(reader.logFields(new RefundRequested(new IdempotencyKey("r"), ORDER, null, RefundRequested.CANCELLED)))
                .isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "r", LogFields.ORDER_ID, ORDER.toString()));
    }

    @Test
    void missingQuantity_meansEverythingNotYetRefunded() {
        assertThat(valid("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"reason\":\"cancelled\"}".formatted(ORDER)).quantity())
                .isNull();
    }

    @Test
    void freeTextReason_isRead() {
        assertThat(valid("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"reason\":\"arrived broken, box crushed\"}"
                .formatted(ORDER)).reason()).isEqualTo("arrived broken, box crushed");
    }

    @Test
    void integralQuantityOutOfRange_isNotPoisonButLeftToTheDecision() {
        assertThat(valid("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"quantity\":0,\"reason\":\"cancelled\"}"
                .formatted(ORDER)).quantity()).isZero();
        assertThat(valid("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"quantity\":5000,\"reason\":\"cancelled\"}"
                .formatted(ORDER)).quantity()).isEqualTo(5000);
    }

    @Test
    void wrongShapes_areSchemaViolationsNamingTheField() {
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\"}".formatted(ORDER), "reason");
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"reason\":\"\"}".formatted(ORDER), "/reason");
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"reason\":\"%s\"}".formatted(ORDER, "x".repeat(201)), "/reason");
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"no\",\"reason\":\"cancelled\"}", "/orderId");
        assertPoison("{\"orderId\":\"%s\",\"reason\":\"cancelled\"}".formatted(ORDER), "idempotencyKey");
        assertPoison("{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"quantity\":\"2\",\"reason\":\"cancelled\"}"
                .formatted(ORDER), "/quantity");
    }

    @Test
    void textPostgresqlCannotStore_isUnrepresentablePoison() {
        for (String json : new String[] {
                "{\"idempotencyKey\":\"r\\u0000\",\"orderId\":\"%s\",\"reason\":\"cancelled\"}",
                "{\"idempotencyKey\":\"r\",\"orderId\":\"%s\",\"reason\":\"broken \\udc00\"}"}) {
            assertThat(reader.read(json.formatted(ORDER).getBytes(StandardCharsets.UTF_8))).isInstanceOfSatisfying(Poison.class, p -> {
                assertThat(p.reason()).isEqualTo(Reason.UNREPRESENTABLE);
                assertThat(p.detail()).contains("PostgreSQL text cannot store");
            });
        }
    }

    private RefundRequested valid(String json) {
        RequestReader.Read<RefundRequested> read = reader.read(json.getBytes(StandardCharsets.UTF_8));
        assertThat(read).isInstanceOf(Valid.class);
        return ((Valid<RefundRequested>) read).request();
    }

    private void assertPoison(String json, String detail) {
        assertThat(reader.read(json.getBytes(StandardCharsets.UTF_8))).isInstanceOfSatisfying(Poison.class, p -> {
            assertThat(p.reason()).isEqualTo(Reason.SCHEMA_VIOLATION);
            assertThat(p.detail()).contains(detail);
        });
    }
}
