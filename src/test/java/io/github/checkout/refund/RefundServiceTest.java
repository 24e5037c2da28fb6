package io.github.checkout.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
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

    private static RefundGateway.Decision rejected(String code) {
        return new RefundGateway.Decision(RefundOutcome.Kind.REJECTED, UUID.randomUUID(), null, null, code, DECIDED_AT, false);
    }
}
