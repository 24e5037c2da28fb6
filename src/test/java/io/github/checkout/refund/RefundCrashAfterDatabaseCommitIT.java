package io.github.checkout.refund;

import static io.github.checkout.support.OutcomeCollector.ORDER_REFUNDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.AfterPublish;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

/**
 * The refund listener fails after the database committed a batch's refunds and their outcomes were
 * handed to the transactional producer, before the Kafka transaction commits; twice. The redelivered
 * batch is answered from the stored decisions: one outcome per refund, the stock put back once.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.refund-requests=" + RefundCrashAfterDatabaseCommitIT.TOPIC,
        "checkout.topics.purchase-requests=refund-crash-purchase-requests",
        "checkout.topics.purchase-requests-dead-letter=refund-crash-purchase-requests.DLT",
        "checkout.groups.purchases=refund-crash-after-database-commit-it",
        "checkout.groups.refunds=refund-crash-after-database-commit-it-refunds"})
class RefundCrashAfterDatabaseCommitIT extends IntegrationTestSupport {

    static final String TOPIC = "refund-crash-requests";
    static final int CRASHES = 2;
    static final AtomicInteger publishCalls = new AtomicInteger();

    @TestConfiguration
    static class CrashBeforeKafkaCommit {

        @Bean
        static BeanPostProcessor crashAfterRefundOutcomesAreSent() {
            return AfterPublish.inject("refundOutcomePublisher", () -> {
                if (publishCalls.getAndIncrement() < CRASHES) {
                    throw new IllegalStateException("injected crash between the database and the Kafka commit");
                }
            });
        }
    }

    @Test
    void refundsCommittedInTheDatabaseButNotInKafka_areAnsweredOnceFromTheStoredDecisions() {
        UUID item = newItem(10);
        List<RefundRequested> requests = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            UUID order = newOrder(item, 2);
            requests.add(new RefundRequested(new IdempotencyKey("refund-crash-" + order), order, 1, RefundRequested.CANCELLED));
        }
        for (RefundRequested r : requests) {
            // One partition: the three are one batch, failed and redelivered together.
            send(new ProducerRecord<>(TOPIC, 0, r.orderId().toString(), refundJson(r.idempotencyKey().value(), r.orderId(),
                    r.quantity(), r.reason()).getBytes(StandardCharsets.UTF_8)));
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(3));
        // An aborted transaction's outcomes, were they ever to leak, would show up meanwhile.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> outcomes().forItem(item).size() == 3);

        assertThat(publishCalls.get()).isGreaterThan(CRASHES);
        for (RefundRequested r : requests) {
            Map<String, Object> stored = jdbc.sql("select quantity, stock, decided_at from refund_decisions where idempotency_key = :key")
                    .param("key", r.idempotencyKey().value()).query().singleRow();
            assertThat(outcomes().forRequest(r.idempotencyKey().value())).singleElement().satisfies(o -> {
                assertThat(o.topic()).isEqualTo(ORDER_REFUNDED);
                assertThat(o.text("eventId")).isEqualTo(RefundService.eventId(r).toString());
                assertThat(o.value().get("quantity").asInt()).isEqualTo(stored.get("quantity"));
                assertThat(o.value().get("remainingStock").asInt()).isEqualTo(stored.get("stock"));
                assertThat(Instant.parse(o.text("occurredAt"))).isEqualTo(((Timestamp) stored.get("decided_at")).toInstant());
            });
            assertThat(refundedOf(r.orderId())).isEqualTo(1);
        }
        assertThat(outcomes().forItem(item)).map(o -> o.value().get("remainingStock").asInt()).containsExactlyInAnyOrder(5, 6, 7);
        assertThat(stockOf(item)).isEqualTo(7);
    }
}
