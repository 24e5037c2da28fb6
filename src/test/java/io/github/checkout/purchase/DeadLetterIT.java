package io.github.checkout.purchase;

import static io.github.checkout.support.OutcomeCollector.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Poison messages land in the dead-letter topic with their reason; the valid requests behind them are decided. */
class DeadLetterIT extends IntegrationTestSupport {

    @Test
    void malformedSchemaViolatingOversizedAndUnrepresentableMessages_areDeadLetteredAndValidOnesBehindThemDecided() {
        UUID item = newItem(3);
        String tag = UUID.randomUUID().toString();
        var malformed = new ProducerRecord<>(REQUESTS, 0, item.toString(),
                ("{\"idempotencyKey\": \"" + tag + "\", oops").getBytes(StandardCharsets.UTF_8));
        malformed.headers().add("trace-id", tag.getBytes(StandardCharsets.UTF_8));
        send(malformed);
        send(new ProducerRecord<>(REQUESTS, 0, item.toString(),
                ("{\"idempotencyKey\":\"" + tag + "\",\"userId\":\"not-a-uuid\",\"itemId\":\"" + item + "\"}")
                        .getBytes(StandardCharsets.UTF_8)));
        send(new ProducerRecord<>(REQUESTS, 0, item.toString(),
                ("{\"idempotencyKey\":\"" + tag + "\",\"pad\":\"" + "x".repeat(20_000) + "\"}")
                        .getBytes(StandardCharsets.UTF_8)));
        send(new ProducerRecord<>(REQUESTS, 0, item.toString(),
                ("{\"idempotencyKey\":\"" + tag + "\\ud800\",\"userId\":\"" + UUID.randomUUID() + "\",\"itemId\":\"" + item + "\"}")
                        .getBytes(StandardCharsets.UTF_8)));
        send(new ProducerRecord<>(REQUESTS, 0, item.toString(),
                ("{\"idempotencyKey\":\"" + tag + "\\u0000\",\"userId\":\"" + UUID.randomUUID() + "\",\"itemId\":\"" + item + "\"}")
                        .getBytes(StandardCharsets.UTF_8)));
        for (int i = 0; i < 3; i++) {
            send(new ProducerRecord<>(REQUESTS, 0, item.toString(),
                    json(tag + "-" + i, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(ours(tag)).hasSize(5);
            assertThat(outcomes().forItem(item)).hasSize(3);
        });
        List<Outcome> dead = ours(tag);
        assertThat(dead).map(o -> headers(o.record(), "dlt-reason").get(0))
                .containsExactly("malformed_json", "schema_violation", "oversized", "unrepresentable", "unrepresentable");
        assertThat(headers(dead.get(0).record(), "trace-id", "dlt-original-topic", "dlt-original-partition"))
                .containsExactly(tag, REQUESTS, "0");
        assertThat(dead.get(0).record().value()).isEqualTo("{\"idempotencyKey\": \"" + tag + "\", oops");
        assertThat(headers(dead.get(1).record(), "dlt-error").get(0)).contains("/userId");
        assertThat(headers(dead.get(2).record(), "dlt-error").get(0)).contains("limit is 16384");
        assertThat(headers(dead.get(3).record(), "dlt-error").get(0)).contains("half a surrogate pair");
        assertThat(headers(dead.get(4).record(), "dlt-error").get(0)).contains("U+0000");
        assertThat(stockOf(item)).isZero();
    }

    private static List<Outcome> ours(String tag) {
        return outcomes().deadLetters().stream().filter(o -> o.record().value().contains(tag)).toList();
    }
}
