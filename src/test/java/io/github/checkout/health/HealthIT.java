package io.github.checkout.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.DatabaseProxy;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.KafkaBrokerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The probes, asked over HTTP on the running service's management port, as an orchestrator asks them.
 * Readiness goes DOWN, naming the cause, when the database cannot be reached, when the broker cannot be
 * reached, when a listener container is stopped and when a partition is stalled; it comes back UP once the
 * cause is gone. Liveness stays UP throughout: none of these is cured by restarting the process.
 *
 * <p>The service talks to a broker of its own in a child JVM, which the test kills, and to the database
 * through a proxy, which the test cuts.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"checkout.demo.enabled=false", "checkout.stall-after=3s"})
// Closed after the class while its broker still runs: the broker goes with the JVM (KafkaBrokerProcess).
@DirtiesContext
class HealthIT extends IntegrationTestSupport {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Duration CHANGE = Duration.ofSeconds(60);

    private static DatabaseProxy database;
    private static KafkaBrokerProcess broker;

    private final HttpClient http = HttpClient.newHttpClient();

    @LocalManagementPort
    int managementPort;

    @Autowired
    KafkaListenerEndpointRegistry listeners;

    @DynamicPropertySource
    static void throughProxy(DynamicPropertyRegistry registry) {
        database = DatabaseProxy.forService(registry);
    }

    @TestConfiguration
    static class OwnBroker {

        @Bean
        KafkaConnectionDetails ownBrokerConnection() {
            String bootstrapServers = broker().bootstrapServers();
            return () -> List.of(bootstrapServers);
        }
    }

    private static synchronized KafkaBrokerProcess broker() {
        if (broker == null) {
            broker = KafkaBrokerProcess.start();
        }
        return broker;
    }

    @AfterAll
    static void closeProxy() {
        database.close();
    }

    @BeforeEach
    void allIsWell() {
        awaitReady();
    }

    @Test
    void allIsWell_readyAndLive_readinessNamesEveryCheck_livenessOnlyTheProcess() throws Exception {
        Probe readiness = probe("readiness");
        assertThat(readiness.httpStatus()).isEqualTo(200);
        assertThat(readiness.componentNames()).containsExactlyInAnyOrder("readinessState", "db", "kafka", "listeners", "stalls");
        assertThat(readiness.body().path("components").path("listeners").path("details").propertyNames())
                .contains("purchase-requests", "refund-requests");
        assertThat(readiness.body().path("components").path("kafka").path("details").path("brokers").asInt()).isEqualTo(1);

        Probe liveness = probe("liveness");
        assertThat(liveness.httpStatus()).isEqualTo(200);
        assertThat(liveness.componentNames()).containsExactly("livenessState");
    }

    @Test
    void databaseUnreachable_notReady_stillLive() throws Exception {
        database.cut();
        try {
            Probe down = awaitNotReady("db");
            assertThat(down.component("kafka")).isEqualTo("UP");
            assertLive();
        } finally {
            database.restore();
        }
        awaitReady();
    }

    @Test
    void brokerUnreachable_notReady_stillLive() throws Exception {
        broker().kill();
        try {
            Probe down = awaitNotReady("kafka");
            assertThat(down.body().path("components").path("kafka").path("details").path("error").asString())
                    .startsWith("the broker did not answer");
            assertThat(down.component("db")).isEqualTo("UP");
            assertLive();
        } finally {
            broker().restart();
        }
        awaitReady();
    }

    @Test
    void listenerContainerStopped_notReady_stillLive() throws Exception {
        MessageListenerContainer refunds = listeners.getListenerContainer("refund-requests");
        refunds.stop();
        try {
            Probe down = awaitNotReady("listeners");
            JsonNode details = down.body().path("components").path("listeners").path("details");
            assertThat(details.path("refund-requests").path("running").asBoolean()).isFalse();
            assertThat(details.path("purchase-requests").path("running").asBoolean()).isTrue();
            assertLive();
        } finally {
            refunds.start();
        }
        awaitReady();
    }

    @Test
    void partitionStalled_notReady_namingThePartition_stillLive() throws Exception {
        UUID item = newItem(10);
        blockStockChanges("HealthIT", item);
        RecordMetadata stuck;
        try (var producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker().bootstrapServers()),
                new StringSerializer(), new StringSerializer())) {
            stuck = producer.send(new ProducerRecord<>("purchase-requests", item.toString(),
                    json("stuck-" + item, UUID.randomUUID(), item, 1))).get();
        }

        Probe down = awaitNotReady("stalls");
        JsonNode stall = down.body().path("components").path("stalls").path("details").path("stalled").path(0);
        assertThat(stall.path("partition").asString()).isEqualTo("purchase-requests-" + stuck.partition());
        assertThat(stall.path("offset").asLong()).isEqualTo(stuck.offset());
        assertThat(stall.path("since").asString()).isNotBlank();
        assertThat(stall.path("lastFailure").asString()).contains("HealthIT holds the stock of item " + item);
        assertLive();

        unblockStockChanges();
        awaitReady();
    }

    private void awaitReady() {
        await().atMost(CHANGE).untilAsserted(() -> {
            Probe readiness = probe("readiness");
            assertThat(readiness.httpStatus()).as(readiness.body().toString()).isEqualTo(200);
            assertThat(readiness.status()).isEqualTo("UP");
        });
    }

    /** Waits until readiness answers 503 DOWN with {@code cause} DOWN; returns that answer. */
    private Probe awaitNotReady(String cause) {
        return await().atMost(CHANGE).until(() -> probe("readiness"), readiness ->
                readiness.httpStatus() == 503 && readiness.status().equals("DOWN") && readiness.component(cause).equals("DOWN"));
    }

    private void assertLive() throws Exception {
        Probe liveness = probe("liveness");
        assertThat(liveness.httpStatus()).as(liveness.body().toString()).isEqualTo(200);
        assertThat(liveness.status()).isEqualTo("UP");
    }

    private Probe probe(String group) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + managementPort + "/actuator/health/" + group))
                .timeout(Duration.ofSeconds(30)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        return new Probe(response.statusCode(), JSON.readTree(response.body()));
    }

    private record Probe(int httpStatus, JsonNode body) {

        String status() {
            return body.path("status").asString();
        }

        String component(String name) {
            return body.path("components").path(name).path("status").asString();
        }

        List<String> componentNames() {
            return List.copyOf(body.path("components").propertyNames());
        }
    }
}
