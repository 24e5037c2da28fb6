package io.github.checkout.messaging;

import static io.github.checkout.messaging.LogFields.IDEMPOTENCY_KEY;
import static io.github.checkout.messaging.LogFields.ITEM_ID;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class LogFieldsTest {

    private static final String GRINNING = "\uD83D\uDE00";

    @Test
    void aLongValueFromARequest_isCutTo200CodePoints_neverInsideOne() {
        assertThat(LogFields.capped(GRINNING.repeat(300))).isEqualTo(GRINNING.repeat(200) + "...");
        assertThat(LogFields.capped("k".repeat(200))).isEqualTo("k".repeat(200));
        assertThat(LogFields.capped(null)).isNull();
    }

    @Test
    void theMessageText_printsLineBreaksAndControlCharactersAsQuestionMarks() {
        assertThat(LogFields.text(Map.of(ITEM_ID, "i", IDEMPOTENCY_KEY, "k\r\n2026-12-01 ERROR forged\u2028\u0000")))
                .isEqualTo("idempotency_key=k??2026-12-01 ERROR forged??, item_id=i");
    }

    @Test
    void theRecordKey_isUtf8AndCut_nullWhenThereIsNone() {
        assertThat(LogFields.recordKey("item-1".getBytes(StandardCharsets.UTF_8))).isEqualTo("item-1");
        assertThat(LogFields.recordKey(new byte[100_000])).hasSize(203);
        assertThat(LogFields.recordKey(null)).isNull();
    }

    @Test
    void theFieldsNamingARequest_areOnTheMdcUntilClosed() {
        try (LogFields.Scope naming = LogFields.naming(Map.of(IDEMPOTENCY_KEY, "k".repeat(300)))) {
            assertThat(MDC.get(IDEMPOTENCY_KEY)).isEqualTo("k".repeat(200) + "...");
        }
        assertThat(MDC.get(IDEMPOTENCY_KEY)).isNull();
    }
}
