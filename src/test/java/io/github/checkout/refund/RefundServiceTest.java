package io.github.checkout.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class RefundServiceTest {

    @Test
    void anErrorCodeThisVersionDoesNotKnow_passesThroughAsStoredWithAMessageThatSaysSo() {
        var request = new RefundRequested(new IdempotencyKey("key-1"), UUID.randomUUID(), null, RefundRequested.CANCELLED);
        var decision = new RefundGateway.Decision(RefundOutcome.Kind.REJECTED, UUID.randomUUID(), null, null,
                "refund_window_closed", Instant.parse("2026-11-30T12:00:00Z"));

        RefundRejected rejected = (RefundRejected) RefundService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("refund_window_closed");
        assertThat(rejected.message()).contains("refund_window_closed", "does not know");
        assertThat(RequestReader.loadSchema("schemas/refund-rejected.schema.json")
                .validate(JsonMapper.builder().build().valueToTree(rejected))).isEmpty();
    }
}
