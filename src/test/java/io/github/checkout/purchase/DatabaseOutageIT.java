package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.TestInfrastructure;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.netcrusher.core.reactor.NioReactor;
import org.netcrusher.tcp.TcpCrusher;
import org.netcrusher.tcp.TcpCrusherBuilder;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * The service reaches PostgreSQL through a TCP proxy that is shut for some seconds in the middle of a
 * run: every connection is cut and new ones are refused, as when the database stops. Every request
 * must be decided once it is back, none lost and none decided twice.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + DatabaseOutageIT.TOPIC,
        "checkout.topics.purchase-requests-dead-letter=" + DatabaseOutageIT.TOPIC + ".DLT",
        // Its own refund topic too: a new consumer group on the shared one would replay every refund.
        "checkout.topics.refund-requests=outage-refund-requests",
        "checkout.groups.purchases=database-outage-it"})
class DatabaseOutageIT extends IntegrationTestSupport {

    static final String TOPIC = "outage-requests";

    private static NioReactor reactor;
    private static TcpCrusher database;

    @DynamicPropertySource
    static void throughProxy(DynamicPropertyRegistry registry) throws IOException {
        URI target = URI.create(TestInfrastructure.jdbcUrl().substring("jdbc:".length()));
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        reactor = new NioReactor();
        database = TcpCrusherBuilder.builder().withReactor(reactor)
                .withBindAddress("127.0.0.1", port)
                .withConnectAddress(target.getHost(), target.getPort())
                .buildAndOpen();
        // Bound onto the pool after spring.datasource.url, so it wins over the shared infrastructure's URL.
        registry.add("spring.datasource.hikari.jdbc-url", () -> "jdbc:postgresql://127.0.0.1:" + port + target.getPath()
                + (target.getQuery() == null ? "" : "?" + target.getQuery()));
    }

    @AfterAll
    static void closeProxy() {
        database.close();
        reactor.close();
    }

    @Test
    void databaseDownForSomeSecondsMidRun_everyRequestDecidedOnceAfterItReturns() {
        UUID item = newItem(150);
        for (int i = 0; i < 150; i++) {
            sendTo(item, "before-" + i);
        }
        producer().flush();
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forItem(item).size() >= 20);

        database.close();
        for (int i = 0; i < 150; i++) {
            sendTo(item, "during-" + i);
        }
        producer().flush();
        await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5)).until(() -> true);
        int decidedWhileDown = outcomes().forItem(item).size();
        database.open();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(300));
        assertThat(decidedWhileDown).isLessThan(300);
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(outcomes().forItem(item, "order-created")).hasSize(150);
        assertThat(stockOf(item)).isZero();
        assertThat(jdbc.sql("select count(*) from purchase_decisions where item_id = :item")
                .param("item", item).query(Integer.class).single()).isEqualTo(300);
    }

    private static void sendTo(UUID item, String key) {
        send(new ProducerRecord<>(TOPIC, item.toString(),
                json(key + "-" + item, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
    }
}
