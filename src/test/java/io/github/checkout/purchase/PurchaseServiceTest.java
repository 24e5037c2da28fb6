package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class PurchaseServiceTest {

    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void anErrorCodeThisVersionDoesNotKnow_passesThroughAsStoredWithAMessageThatSaysSo() {
        var request = new PurchaseRequested(new IdempotencyKey("key-1"), UUID.randomUUID(), UUID.randomUUID(), 1);
        var decision = new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, "held_elsewhere",
                Instant.parse("2026-11-30T12:00:00Z"));

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
        var decision = new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, "item_not_found", Instant.now());

        PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("item_not_found");
        assertThat(rejected.message()).isEqualTo(ErrorCode.ITEM_NOT_FOUND.message());
    }
}
