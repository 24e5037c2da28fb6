package io.github.checkout.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    @Test
    void lastCutOfARecordLargeInEveryPart_fitsItsBudgetAsTheProducerCountsIt() {
        var headers = new RecordHeaders();
        for (int i = 0; i < 50; i++) {
            headers.add("header-" + i + "-" + "n".repeat(200), new byte[100_000]);
        }
        var original = record(new byte[300_000], new byte[3_000_000], headers);

        ProducerRecord<byte[], byte[]> copy = DeadLetters.cut("t.DLT", original, "undecidable", "a" + "é".repeat(1_000_000),
                DeadLetters.LAST_CUT);

        assertThat(DeadLetters.sizeOf(copy)).isLessThanOrEqualTo(DeadLetters.LAST_CUT);
        assertThat(copy.key()).isNull();
        assertThat(copy.value()).hasSizeLessThan(DeadLetters.LAST_CUT);
        assertThat(text(copy, DeadLetters.DROPPED_KEY)).contains("300000");
        assertThat(text(copy, DeadLetters.DROPPED_HEADERS)).get().asString().startsWith("header-0-");
        assertThat(text(copy, DeadLetters.ERROR)).get().asString().startsWith("aé").doesNotContain("\uFFFD");
        assertThat(text(copy, DeadLetters.ORIGINAL_SIZE)).contains("3000000");
        assertThat(text(copy, DeadLetters.TRUNCATED)).contains("true");
    }

    @Test
    void cutCopy_keepsTheValuesStartAndTheHeadersThatFit() {
        var headers = new RecordHeaders();
        headers.add("trace-id", "t-1".getBytes(StandardCharsets.UTF_8));
        headers.add("big", new byte[200_000]);
        headers.add("dlt-reason", "theirs".getBytes(StandardCharsets.UTF_8));
        byte[] value = new byte[2_000_000];
        Arrays.fill(value, (byte) 'v');
        var original = record("key".getBytes(StandardCharsets.UTF_8), value, headers);

        ProducerRecord<byte[], byte[]> copy = DeadLetters.cut("t.DLT", original, "oversized", "too big", DeadLetters.FIRST_CUT);

        assertThat(DeadLetters.sizeOf(copy)).isBetween(DeadLetters.FIRST_CUT - 100, DeadLetters.FIRST_CUT);
        assertThat(value).startsWith(copy.value());
        assertThat(copy.key()).isEqualTo("key".getBytes(StandardCharsets.UTF_8));
        assertThat(text(copy, "trace-id")).contains("t-1");
        assertThat(copy.headers().lastHeader("big")).isNull();
        assertThat(texts(copy, DeadLetters.REASON)).containsExactly("oversized");
        assertThat(text(copy, DeadLetters.DROPPED_HEADERS)).contains("big");
        assertThat(text(copy, DeadLetters.ORIGINAL_SHA256)).get().asString().hasSize(64);
    }

    @Test
    void wholeCopy_replacesIncomingDeadLetterHeaders() {
        var headers = new RecordHeaders();
        headers.add("DLT-Reason", "theirs".getBytes(StandardCharsets.UTF_8));
        headers.add("dlt-error", "theirs".getBytes(StandardCharsets.UTF_8));
        headers.add("trace-id", "t-1".getBytes(StandardCharsets.UTF_8));
        var original = record(null, "not json".getBytes(StandardCharsets.UTF_8), headers);

        ProducerRecord<byte[], byte[]> copy = DeadLetters.whole("t.DLT", original, "malformed_json", "oops");

        List<String> names = new ArrayList<>();
        copy.headers().forEach(h -> names.add(h.key()));
        assertThat(names).containsExactly("trace-id", "dlt-reason", "dlt-error", "dlt-original-topic",
                "dlt-original-partition", "dlt-original-offset");
        assertThat(texts(copy, DeadLetters.REASON)).containsExactly("malformed_json");
    }

    private static ConsumerRecord<byte[], byte[]> record(byte[] key, byte[] value, RecordHeaders headers) {
        return new ConsumerRecord<>("t", 0, 42L, 0L, TimestampType.CREATE_TIME, key == null ? -1 : key.length,
                value.length, key, value, headers, Optional.empty());
    }

    private static Optional<String> text(ProducerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return Optional.ofNullable(header).map(h -> new String(h.value(), StandardCharsets.UTF_8));
    }

    private static List<String> texts(ProducerRecord<?, ?> record, String name) {
        List<String> values = new ArrayList<>();
        record.headers().headers(name).forEach(h -> values.add(new String(h.value(), StandardCharsets.UTF_8)));
        return values;
    }
}
