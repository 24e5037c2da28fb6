package io.github.checkout.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class RefundServiceTest {

    private static final UUID ORDER = UUID.fromString("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b");
    private static final Instant DECIDED_AT = Instant.parse("2026-11-30T12:00:00Z");
    private static final RefundGateway.Decision REFUNDED = new RefundGateway.Decision(
            RefundOutcome.Kind.ORDER_REFUNDED, UUID.randomUUID(), 1, 5, null, DECIDED_AT, false);

    @Test
    void anErrorCodeThisVersionDoesNotKnow_passesThroughAsStoredWithAMessageThatSaysSo() {
        var request = new RefundRequested(new IdempotencyKey("key-1"), UUID.randomUUID(), null, RefundRequested.CANCELLED);
        var decision = new RefundGateway.Decision(RefundOutcome.Kind.REJECTED, UUID.randomUUID(), null, null,
                "refund_window_closed", Instant.parse("2026-11-30T12:00:00Z"), false);

        RefundRejected rejected = (RefundRejected) RefundService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("refund_window_closed");
        assertThat(rejected.message()).contains("refund_window_closed", "does not know");
        assertThat(RequestReader.loadSchema("schemas/refund-rejected.schema.json")
                .validate(JsonMapper.builder().build().valueToTree(rejected))).isEmpty();
    }

    @Test
    void everyOutcomeOfAKey_carriesTheIdNamedAfterTheKey() {
        var request = new RefundRequested(new IdempotencyKey("key-3"), ORDER, 1, RefundRequested.CANCELLED);
        UUID id = UUID.nameUUIDFromBytes("refund:key-3".getBytes(StandardCharsets.UTF_8));

        assertThat(RefundService.eventId(request)).isEqualTo(id);
        assertThat(RefundService.toOutcome(request, REFUNDED).eventId()).isEqualTo(id);
        assertThat(RefundService.toOutcome(request, rejected("already_refunded")).eventId()).isEqualTo(id);
    }

    @Test
    void aReusedKeysRejection_hasAnIdOfItsOwn_theSameOnEveryRedelivery() {
        var first = new RefundRequested(new IdempotencyKey("key-4"), ORDER, 1, RefundRequested.CANCELLED);
        var conflicting = new RefundRequested(new IdempotencyKey("key-4"), ORDER, 2, RefundRequested.CANCELLED);
        var reused = rejected(RefundErrorCode.IDEMPOTENCY_KEY_REUSED.code());

        UUID id = RefundService.toOutcome(conflicting, reused).eventId();

        assertThat(id).isEqualTo(UUID.nameUUIDFromBytes(("refund:key-4:reused:" + ORDER + ":2:cancelled")
                .getBytes(StandardCharsets.UTF_8)));
        assertThat(RefundService.toOutcome(new RefundRequested(new IdempotencyKey("key-4"), ORDER, 2, "cancelled"), reused)
                .eventId()).as("a redelivery of the conflicting request").isEqualTo(id);
        assertThat(id).as("the first decision's id").isNotEqualTo(RefundService.toOutcome(first, REFUNDED).eventId());
        assertThat(RefundService.toOutcome(new RefundRequested(new IdempotencyKey("key-4"), ORDER, 2,
                RefundRequested.CUSTOMER_RETURN), reused).eventId()).as("another reason").isNotEqualTo(id);
        assertThat(RefundService.toOutcome(new RefundRequested(new IdempotencyKey("key-4"), ORDER, null,
                RefundRequested.CANCELLED), reused).eventId()).as("everything left, not 2").isNotEqualTo(id);
    }

    @Test
    void refundOfACartsOrder_namesTheLinesPutBackAndTheTotal_keyedByTheOrder() {
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        var request = new RefundRequested(new IdempotencyKey("key-5"), ORDER, null, RefundRequested.CANCELLED);
        var decision = new RefundGateway.Decision(RefundOutcome.Kind.ORDER_REFUNDED, null, 3, null, null, DECIDED_AT, false,
                List.of(new RefundGateway.Line(a, 1, 7), new RefundGateway.Line(b, 2, 2)));

        OrderRefunded refunded = (OrderRefunded) RefundService.toOutcome(request, decision);

        assertThat(refunded.lines()).containsExactly(new OrderRefunded.Line(a, 1, 7), new OrderRefunded.Line(b, 2, 2));
        assertThat(refunded.quantity()).isEqualTo(3);
        assertThat(refunded.itemId()).as("no single item: the publisher keys it by order").isNull();
        assertThat(refunded.remainingStock()).isNull();
        assertThat(refunded.eventId()).isEqualTo(RefundService.eventId(request));
        JsonNode node = JsonMapper.builder().build().valueToTree(refunded);
        assertThat(node.propertyNames()).containsExactly("eventId", "idempotencyKey", "orderId", "quantity", "lines", "occurredAt");
        assertThat(RequestReader.loadSchema("schemas/order-refunded.schema.json").validate(node)).isEmpty();
    }

    @Test
    void refundOfOneLineOfACartsOrder_namesThatLineOnly_notAsASingleItem() {
        UUID a = UUID.randomUUID();
        var request = new RefundRequested(new IdempotencyKey("key-6"), ORDER, a, 1, RefundRequested.CUSTOMER_RETURN);
        var decision = new RefundGateway.Decision(RefundOutcome.Kind.ORDER_REFUNDED, a, 1, null, null, DECIDED_AT, false,
                List.of(new RefundGateway.Line(a, 1, 7)));

        OrderRefunded refunded = (OrderRefunded) RefundService.toOutcome(request, decision);

        assertThat(refunded.itemId()).isNull();
        assertThat(refunded.lines()).containsExactly(new OrderRefunded.Line(a, 1, 7));
    }

    @Test
    void aLineRejection_namesTheLinesItem() {
        UUID a = UUID.randomUUID();
        var request = new RefundRequested(new IdempotencyKey("key-7"), ORDER, a, 1, RefundRequested.CUSTOMER_RETURN);
        var decision = new RefundGateway.Decision(RefundOutcome.Kind.REJECTED, a, null, null, "line_not_found", DECIDED_AT, false);

        RefundRejected rejected = (RefundRejected) RefundService.toOutcome(request, decision);

        assertThat(rejected.itemId()).isEqualTo(a);
        assertThat(rejected.message()).isEqualTo(RefundErrorCode.LINE_NOT_FOUND.message());
        assertThat(RefundService.toOutcome(request, new RefundGateway.Decision(RefundOutcome.Kind.REJECTED, null, null, null,
                "item_required", DECIDED_AT, false))).isInstanceOfSatisfying(RefundRejected.class,
                r -> assertThat(r.message()).isEqualTo(RefundErrorCode.ITEM_REQUIRED.message()));
    }

    @Test
    void aReusedKeysRejection_forALine_hasAnIdNamingTheLine() {
        UUID a = UUID.randomUUID();
        var reused = rejected(RefundErrorCode.IDEMPOTENCY_KEY_REUSED.code());
        var line = new RefundRequested(new IdempotencyKey("key-8"), ORDER, a, 2, RefundRequested.CANCELLED);

        UUID id = RefundService.toOutcome(line, reused).eventId();

        assertThat(id).isEqualTo(UUID.nameUUIDFromBytes(("refund:key-8:reused:" + ORDER + "/" + a + ":2:cancelled")
                .getBytes(StandardCharsets.UTF_8)));
        assertThat(RefundService.toOutcome(new RefundRequested(new IdempotencyKey("key-8"), ORDER, a, 2, RefundRequested.CANCELLED),
                reused).eventId()).as("a redelivery").isEqualTo(id);
        assertThat(RefundService.toOutcome(new RefundRequested(new IdempotencyKey("key-8"), ORDER, UUID.randomUUID(), 2,
                RefundRequested.CANCELLED), reused).eventId()).as("another line").isNotEqualTo(id);
        assertThat(RefundService.toOutcome(new RefundRequested(new IdempotencyKey("key-8"), ORDER, 2, RefundRequested.CANCELLED),
                reused).eventId()).as("the whole order").isNotEqualTo(id);
    }

    private static RefundGateway.Decision rejected(String code) {
        return new RefundGateway.Decision(RefundOutcome.Kind.REJECTED, UUID.randomUUID(), null, null, code, DECIDED_AT, false);
    }
}
