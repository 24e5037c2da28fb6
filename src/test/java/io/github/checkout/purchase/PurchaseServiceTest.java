package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class PurchaseServiceTest {

    private static final UUID USER = UUID.fromString("7d8f3c1e-2b4a-4f6e-9a1b-3c5d7e9f1a2b");
    private static final UUID ITEM = UUID.fromString("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9");
    private static final Instant DECIDED_AT = Instant.parse("2026-11-30T12:00:00Z");
    private static final PurchaseGateway.Decision ORDER_CREATED = new PurchaseGateway.Decision(
            PurchaseOutcome.Kind.ORDER_CREATED, UUID.randomUUID(), 4, null, DECIDED_AT, false);
    private static final PurchaseGateway.Decision OUT_OF_STOCK = new PurchaseGateway.Decision(
            PurchaseOutcome.Kind.OUT_OF_STOCK, null, 0, null, DECIDED_AT, false);

    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void anErrorCodeThisVersionDoesNotKnow_passesThroughAsStoredWithAMessageThatSaysSo() {
        var request = new PurchaseRequested(new IdempotencyKey("key-1"), UUID.randomUUID(), UUID.randomUUID(), 1);
        var decision = new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, "held_elsewhere",
                Instant.parse("2026-11-30T12:00:00Z"), false);

        PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("held_elsewhere");
        assertThat(rejected.message()).contains("held_elsewhere", "does not know");
        assertThat(rejected.eventId()).isEqualTo(PurchaseService.eventId(request));
        assertThat(RequestReader.loadSchema("schemas/purchase-rejected.schema.json")
                .validate(json.valueToTree(rejected))).isEmpty();
    }

    @Test
    void aKnownErrorCode_keepsItsMessage() {
        var request = new PurchaseRequested(new IdempotencyKey("key-2"), UUID.randomUUID(), UUID.randomUUID(), 1);
        var decision = new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, "item_not_found", Instant.now(), false);

        PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("item_not_found");
        assertThat(rejected.message()).isEqualTo(ErrorCode.ITEM_NOT_FOUND.message());
    }

    @Test
    void everyOutcomeOfAKey_carriesTheIdNamedAfterTheKey() {
        var request = new PurchaseRequested(new IdempotencyKey("key-3"), USER, ITEM, 1);
        UUID id = UUID.nameUUIDFromBytes("purchase:key-3".getBytes(StandardCharsets.UTF_8));

        assertThat(PurchaseService.eventId(request)).isEqualTo(id);
        assertThat(PurchaseService.toOutcome(request, ORDER_CREATED).eventId()).isEqualTo(id);
        assertThat(PurchaseService.toOutcome(request, OUT_OF_STOCK).eventId()).isEqualTo(id);
        assertThat(PurchaseService.toOutcome(request, rejected("invalid_quantity")).eventId()).isEqualTo(id);
    }

    @Test
    void aReusedKeysRejection_hasAnIdOfItsOwn_theSameOnEveryRedelivery() {
        var first = new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 1);
        var conflicting = new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 2);
        var reused = rejected(ErrorCode.IDEMPOTENCY_KEY_REUSED.code());

        UUID id = PurchaseService.toOutcome(conflicting, reused).eventId();

        assertThat(id).isEqualTo(UUID.nameUUIDFromBytes(("purchase:key-4:reused:" + USER + ":" + ITEM + ":2")
                .getBytes(StandardCharsets.UTF_8)));
        assertThat(PurchaseService.toOutcome(new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 2), reused)
                .eventId()).as("a redelivery of the conflicting request").isEqualTo(id);
        assertThat(id).as("the first decision's id").isNotEqualTo(PurchaseService.toOutcome(first, ORDER_CREATED).eventId());
        assertThat(PurchaseService.toOutcome(new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 3), reused)
                .eventId()).as("another conflicting request").isNotEqualTo(id);
    }

    private static PurchaseGateway.Decision rejected(String code) {
        return new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, code, DECIDED_AT, false);
    }
}
