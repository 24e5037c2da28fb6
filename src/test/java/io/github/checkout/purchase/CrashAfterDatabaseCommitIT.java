package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.AfterPublish;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

/**
 * The listener fails after the database committed a batch's decisions and after their outcomes were
 * handed to the transactional producer, but before the Kafka transaction commits; several times. The
 * batch is redelivered, the stored decisions are replayed, and a read_committed consumer still sees
 * exactly one outcome per request, with the event ids of the first decisions.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + CrashAfterDatabaseCommitIT.TOPIC,
        "checkout.topics.purchase-requests-dead-letter=" + CrashAfterDatabaseCommitIT.TOPIC + ".DLT",
        // Its own refund topic too: a new consumer group on the shared one would replay every refund.
        "checkout.topics.refund-requests=crash-refund-requests",
        "checkout.batch.max-records=50",
        "checkout.groups.purchases=crash-after-database-commit-it"})
class CrashAfterDatabaseCommitIT extends IntegrationTestSupport {

    static final String TOPIC = "crash-requests";
    static final int CRASHES = 3;
    static final AtomicInteger publishCalls = new AtomicInteger();

    @TestConfiguration
    static class CrashBeforeKafkaCommit {

        /** Fails the first {@value #CRASHES} batches right after their outcomes were sent. */
        @Bean
        static BeanPostProcessor crashAfterOutcomesAreSent() {
            return AfterPublish.inject(() -> {
                if (publishCalls.getAndIncrement() < CRASHES) {
                    throw new IllegalStateException("injected crash between the database and the Kafka commit");
                }
            });
        }
    }

    @Test
    void failuresBetweenDatabaseAndKafkaCommits_stillOneOutcomePerRequest() {
        UUID item = newItem(100);
        for (int i = 0; i < 300; i++) {
            send(new ProducerRecord<>(TOPIC, i % 4, item.toString(),
                    json("crash-" + item + "-" + i, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(300));
        // An aborted transaction's outcomes, were they ever to leak, would show up meanwhile.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> outcomes().forItem(item).size() == 300);

        List<Outcome> seen = outcomes().forItem(item);
        assertThat(publishCalls.get()).isGreaterThan(CRASHES);
        assertThat(seen).hasSize(300);
        assertThat(seen).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(seen).map(o -> o.text("eventId")).doesNotHaveDuplicates();
        Map<String, Long> byTopic = seen.stream().collect(Collectors.groupingBy(Outcome::topic, Collectors.counting()));
        assertThat(byTopic).containsEntry("order-created", 100L).containsEntry("out-of-stock", 200L);
        assertThat(jdbc.sql("select count(*) from purchase_decisions where item_id = :item")
                .param("item", item).query(Integer.class).single()).isEqualTo(300);
        assertThat(ordersOf(item)).isEqualTo(100);
        assertThat(stockOf(item)).isZero();

        // The outcomes of the crashed batches were published again from the stored decisions: each one
        // names the order and the time stored for its key, not a new one.
        Map<String, Map<String, Object>> stored = jdbc.sql(
                        "select idempotency_key, order_id, decided_at from purchase_decisions where item_id = :item")
                .param("item", item).query().listOfRows().stream()
                .collect(Collectors.toMap(row -> (String) row.get("idempotency_key"), row -> row));
        assertThat(seen).allSatisfy(outcome -> {
            Map<String, Object> decision = stored.get(outcome.text("idempotencyKey"));
            assertThat(Instant.parse(outcome.text("occurredAt"))).as(outcome.record().value())
                    .isEqualTo(((Timestamp) decision.get("decided_at")).toInstant());
            assertThat(outcome.value().has("orderId") ? UUID.fromString(outcome.text("orderId")) : null)
                    .as(outcome.record().value()).isEqualTo(decision.get("order_id"));
        });
    }
}
