package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.DatabaseProxy;
import io.github.checkout.support.IntegrationTestSupport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * The service reaches PostgreSQL through a TCP proxy that is shut for some seconds in the middle of a
 * run: every connection is cut and new ones are refused, as when the database stops. Requests on every
 * partition, so every consumer thread waits it out. Every request must be decided once it is back, none
 * lost, none decided twice and none dead-lettered.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + DatabaseOutageIT.TOPIC,
        // The shared dead-letter topic, which the outcome collector reads.
        "checkout.topics.purchase-requests-dead-letter=purchase-requests.DLT",
        // Its own refund topic too: a new consumer group on the shared one would replay every refund.
        "checkout.topics.refund-requests=outage-refund-requests",
        "checkout.groups.purchases=database-outage-it"})
class DatabaseOutageIT extends IntegrationTestSupport {

    static final String TOPIC = "outage-requests";
    static final int PARTITIONS = 4;

    private static DatabaseProxy database;

    @DynamicPropertySource
    static void throughProxy(DynamicPropertyRegistry registry) {
        database = DatabaseProxy.forService(registry);
    }

    @AfterAll
    static void closeProxy() {
        database.close();
    }

    @Test
    void databaseDownForSomeSecondsMidRun_everyRequestDecidedOnceAfterItReturns() {
        UUID item = newItem(150);
        for (int i = 0; i < 150; i++) {
            sendTo(item, "before-" + i, i);
        }
        producer().flush();
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forItem(item).size() >= 20);

        database.cut();
        for (int i = 0; i < 150; i++) {
            sendTo(item, "during-" + i, i);
        }
        producer().flush();
        // Some seconds down: what was sent meanwhile cannot all be decided.
        await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5))
                .until(() -> outcomes().forItem(item).size() < 300);
        database.restore();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(300));
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(outcomes().deadLetters()).noneMatch(o -> o.record().value().contains(item.toString()));
        assertThat(outcomes().forItem(item, "order-created")).hasSize(150);
        assertThat(stockOf(item)).isZero();
        assertThat(jdbc.sql("select count(*) from purchase_decisions where item_id = :item")
                .param("item", item).query(Integer.class).single()).isEqualTo(300);
    }

    /** Request i on partition i % {@value #PARTITIONS}, whatever its key. */
    private static void sendTo(UUID item, String key, int i) {
        send(new ProducerRecord<>(TOPIC, i % PARTITIONS, item.toString(),
                json(key + "-" + item, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
    }
}
