package io.github.checkout.refund;

import static io.github.checkout.support.OutcomeCollector.ORDER_REFUNDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.CountedCalls;
import io.github.checkout.support.DatabaseProxy;
import io.github.checkout.support.IntegrationTestSupport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * Refunds on every partition arrive while the database is cut (a TCP proxy that closes every connection
 * and refuses new ones). Each consumer thread retries its batch with the back-off of checkout.retry.*,
 * 100 ms doubling up to 5 s, never giving up: a handful of tries during the outage, not hundreds, and
 * every refund decided exactly once after it, none dead-lettered.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.refund-requests=" + RefundDatabaseOutageIT.TOPIC,
        // The shared dead-letter topic, which the outcome collector reads.
        "checkout.topics.refund-requests-dead-letter=refund-requests.DLT",
        "checkout.topics.purchase-requests=refund-outage-purchase-requests",
        "checkout.topics.purchase-requests-dead-letter=refund-outage-purchase-requests.DLT",
        "checkout.groups.purchases=refund-database-outage-it",
        "checkout.groups.refunds=refund-database-outage-it-refunds",
        // A try waits for a connection this long: short, so that the back-off, not the pool, paces the tries.
        "spring.datasource.hikari.connection-timeout=250",
        "spring.datasource.hikari.validation-timeout=250"})
class RefundDatabaseOutageIT extends IntegrationTestSupport {

    static final String TOPIC = "refund-outage-requests";
    static final int PARTITIONS = 4;
    static final Map<String, Integer> tries = new ConcurrentHashMap<>();

    private static DatabaseProxy database;

    @DynamicPropertySource
    static void throughProxy(DynamicPropertyRegistry registry) {
        database = DatabaseProxy.forService(registry);
    }

    @AfterAll
    static void closeProxy() {
        database.close();
    }

    @TestConfiguration
    static class CountTries {

        @Bean
        static BeanPostProcessor countRefundGatewayCalls() {
            return CountedCalls.of("jdbcRefundGateway", tries);
        }
    }

    @Test
    void databaseDownWhileRefundsArrive_triedWithGrowingPausesThenEachDecidedOnce() {
        UUID item = newItem(12);
        List<UUID> orders = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            orders.add(newOrder(item, 1));
        }
        String tag = "refund-outage-" + item;

        database.cut();
        for (int i = 0; i < orders.size(); i++) {
            UUID order = orders.get(i);
            send(new ProducerRecord<>(TOPIC, i % PARTITIONS, order.toString(),
                    refundJson(tag + "-" + i, order, null, RefundRequested.CANCELLED).getBytes(StandardCharsets.UTF_8)));
        }
        producer().flush();
        // Six seconds down: with a fixed or no back-off each thread would try some twenty times, or give up.
        await().pollDelay(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(7)).until(() -> outcomes().forItem(item).isEmpty());
        Map<String, Integer> duringOutage = Map.copyOf(tries);
        database.restore();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item, ORDER_REFUNDED)).hasSize(12));
        assertThat(duringOutage).hasSize(PARTITIONS);
        // 100 ms, 200, 400, 800, 1600, 3200: at most seven tries fit in six seconds, whatever a try costs.
        assertThat(duringOutage.values()).allSatisfy(n -> assertThat(n).isBetween(3, 8));
        assertThat(outcomes().forItem(item)).hasSize(12).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(outcomes().deadLetters()).noneMatch(o -> o.record().value().contains(tag));
        assertThat(jdbc.sql("select count(*) from refund_decisions where idempotency_key like :tag")
                .param("tag", tag + "-%").query(Integer.class).single()).isEqualTo(12);
        assertThat(stockOf(item)).isEqualTo(12);
    }
}
