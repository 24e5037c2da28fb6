package io.github.checkout.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.HeldAdvisoryLock;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.TestInfrastructure;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged production jar with {@code logging.structured.format.console=ecs}: everything it prints is
 * JSON, one object a line, and each WARN or ERROR about a request, a dead letter or a stalled partition
 * carries the request's idempotency key and item or order, and the topic, partition and offset, as fields.
 * Each batch has a DEBUG line with its counts. A trigger installed by the test fails the requests whose key
 * has "-bad" in it, and makes those with "-wait" wait on an advisory lock the test holds.
 */
class JsonLogsJarIT extends IntegrationTestSupport {

    private static final long LOCK = 4343;
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String BATCH_PROCESSOR = BatchProcessor.class.getName();

    @BeforeEach
    void installTrigger() {
        refuseAndHoldKeys("json_logs_it", "json-logs-%-bad%", "json-logs-%-wait%", 4343);
    }

    @Test
    void ecsLogs_areJsonLines_problemsCarryKeyItemAndCoordinates_batchesTheirCounts() throws Exception {
        Lane lane = Lane.random("json-logs", 1).create();
        String run = lane.prefix();
        String purchases = lane.purchaseRequests();
        String refunds = run + "-refund-requests"; // the lane's
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers()))) {
            // A dead-letter topic that refuses a record over 20 kB: a larger dead letter goes as a copy cut to fit.
            admin.createTopics(List.of(new NewTopic(refunds, 1, (short) 1),
                    new NewTopic(run + "-purchase-requests-dead-letter", 1, (short) 1)
                            .configs(Map.of("max.message.bytes", "20000")))).all().get(30, TimeUnit.SECONDS);
        }
        UUID item = newItem(100);
        UUID order = newOrder(item, 1);

        // One batch, sent before the service starts: two poison, three fine, one that fails in the database.
        long malformed = sent(purchases, "poison-key-" + run, "not json {\n\"idempotencyKey\"");
        // Its key holds a line break, which in a plain-text log would forge a line.
        long schemaViolation = sent(purchases, item.toString(), "{\"idempotencyKey\":\"%s-schema\\nforged\",\"itemId\":\"%s\"}".formatted(run, item));
        long firstValid = sent(purchases, item.toString(), json(run + "-ok-1", UUID.randomUUID(), item, 1));
        sent(purchases, item.toString(), json(run + "-ok-2", UUID.randomUUID(), item, 1));
        long bad = sent(purchases, item.toString(), json(run + "-bad", UUID.randomUUID(), item, 1));
        sent(purchases, item.toString(), json(run + "-ok-3", UUID.randomUUID(), item, 1));
        long badRefund = sent(refunds, order.toString(), refundJson(run + "-bad-refund", order, 1, "cancelled"));

        try (ServiceProcess service = ServiceProcess.onTestInfrastructure(lane, lane.log("service"),
                "--logging.structured.format.console=ecs",
                "--logging.level.io.github.checkout.messaging.BatchProcessor=debug",
                "--checkout.stall-after=1s").start()) {

            JsonNode poisonWarn = awaitLine(service, line -> line.path("message").asString().contains("malformed_json"));
            assertThat(poisonWarn.at("/log/level").asString()).isEqualTo("WARN");
            assertThat(poisonWarn.at("/log/logger").asString()).isEqualTo(BATCH_PROCESSOR);
            assertCoordinates(poisonWarn, purchases, malformed);
            assertThat(field(poisonWarn, "kafka.key").asString()).isEqualTo("poison-key-" + run);
            assertThat(field(poisonWarn, "checkout.idempotency_key").isMissingNode()).isTrue();

            JsonNode schemaWarn = awaitLine(service, line -> line.path("message").asString().contains("schema_violation"));
            assertThat(schemaWarn.at("/log/level").asString()).isEqualTo("WARN");
            assertCoordinates(schemaWarn, purchases, schemaViolation);
            assertThat(field(schemaWarn, "checkout.idempotency_key").asString()).isEqualTo(run + "-schema\nforged");
            assertThat(schemaWarn.path("message").asString()).contains(run + "-schema?forged").doesNotContain("\n");
            assertThat(field(schemaWarn, "checkout.item_id").asString()).isEqualTo(item.toString());

            JsonNode split = awaitLine(service, line -> line.path("message").asString().contains("splitting it"));
            assertThat(split.at("/log/level").asString()).isEqualTo("WARN");
            assertCoordinates(split, purchases, firstValid);

            JsonNode undecidable = awaitLine(service, line -> line.path("message").asString().contains(": undecidable")
                    && field(line, "kafka.topic").asString().equals(purchases));
            assertThat(undecidable.at("/log/level").asString()).isEqualTo("ERROR");
            assertCoordinates(undecidable, purchases, bad);
            assertThat(field(undecidable, "checkout.idempotency_key").asString()).isEqualTo(run + "-bad");
            assertThat(field(undecidable, "checkout.item_id").asString()).isEqualTo(item.toString());

            JsonNode refundUndecidable = awaitLine(service, line -> line.path("message").asString().contains(": undecidable")
                    && field(line, "kafka.topic").asString().equals(refunds));
            assertThat(refundUndecidable.at("/log/level").asString()).isEqualTo("ERROR");
            assertCoordinates(refundUndecidable, refunds, badRefund);
            assertThat(field(refundUndecidable, "checkout.idempotency_key").asString()).isEqualTo(run + "-bad-refund");
            assertThat(field(refundUndecidable, "checkout.order_id").asString()).isEqualTo(order.toString());

            JsonNode batch = awaitLine(service, line -> line.at("/log/level").asString().equals("DEBUG")
                    && line.at("/log/logger").asString().equals(BATCH_PROCESSOR)
                    && field(line, "kafka.topic_partitions").toString().contains(purchases + "-0"));
            assertThat(field(batch, "checkout.batch.records").asInt()).isEqualTo(6);
            assertThat(field(batch, "checkout.batch.valid").asInt()).isEqualTo(4);
            assertThat(field(batch, "checkout.batch.poison").asInt()).isEqualTo(2);
            assertThat(field(batch, "checkout.batch.decided").asInt()).isEqualTo(3);
            assertThat(field(batch, "checkout.batch.outcomes.order_created").asInt()).isEqualTo(3);
            assertThat(field(batch, "checkout.batch.undecidable").asInt()).isEqualTo(1);
            assertThat(field(batch, "checkout.batch.split").asBoolean()).isTrue();
            assertThat(field(batch, "kafka.topic_partitions").isArray()).isTrue();
            JsonNode refundBatch = awaitLine(service, line -> line.at("/log/level").asString().equals("DEBUG")
                    && field(line, "kafka.topic_partitions").toString().contains(refunds + "-0"));
            assertThat(field(refundBatch, "checkout.batch.records").asInt()).isEqualTo(1);
            assertThat(field(refundBatch, "checkout.batch.undecidable").asInt()).isEqualTo(1);
            assertThat(field(refundBatch, "checkout.batch.split").asBoolean()).isFalse();

            // A dead letter too large for its topic goes cut, and the cut copy's WARN names the request too.
            ProducerRecord<String, byte[]> big = new ProducerRecord<>(purchases, 0, item.toString(),
                    "{\"idempotencyKey\":\"%s-big\",\"itemId\":\"%s\"}".formatted(run, item).getBytes(StandardCharsets.UTF_8));
            byte[] incompressible = new byte[30_000];
            new Random(1).nextBytes(incompressible);
            big.headers().add("big", incompressible);
            long bigOffset = producer().send(big).get(30, TimeUnit.SECONDS).offset();
            JsonNode cut = awaitLine(service, line -> line.path("message").asString().contains("as a copy cut"));
            assertThat(cut.at("/log/level").asString()).isEqualTo("WARN");
            assertThat(cut.at("/log/logger").asString()).isEqualTo(DeadLetters.class.getName());
            assertCoordinates(cut, purchases, bigOffset);
            assertThat(field(cut, "checkout.idempotency_key").asString()).isEqualTo(run + "-big");
            assertThat(field(cut, "checkout.item_id").asString()).isEqualTo(item.toString());

            // A request that waits in the database stalls its partition: ERROR while it lasts, WARN once it moves.
            long waiting;
            try (HeldAdvisoryLock held = HeldAdvisoryLock.take(LOCK)) {
                waiting = sent(purchases, item.toString(), json(run + "-wait", UUID.randomUUID(), item, 1));
                JsonNode stalled = awaitLine(service, line -> line.path("message").asString().contains("is stalled")
                        && field(line, "kafka.topic").asString().equals(purchases) && field(line, "kafka.offset").asLong() == waiting);
                assertThat(stalled.at("/log/level").asString()).isEqualTo("ERROR");
                assertThat(stalled.at("/log/logger").asString()).isEqualTo(StallMonitor.class.getName());
                assertCoordinates(stalled, purchases, waiting);
                assertThat(field(stalled, "kafka.consumer_group").asString()).isEqualTo(lane.purchaseGroup());
            }
            JsonNode moved = awaitLine(service, line -> line.path("message").asString().contains("no longer stalled")
                    && field(line, "kafka.topic").asString().equals(purchases) && field(line, "kafka.offset").asLong() == waiting);
            assertThat(moved.at("/log/level").asString()).isEqualTo("WARN");
            assertCoordinates(moved, purchases, waiting);

            List<JsonNode> lines = lines(service);
            assertThat(lines).as("every WARN and ERROR of the service's own names where it happened")
                    .filteredOn(line -> List.of("WARN", "ERROR").contains(line.at("/log/level").asString())
                            && line.at("/log/logger").asString().startsWith("io.github.checkout.messaging"))
                    .isNotEmpty()
                    .allSatisfy(line -> assertThat(List.of("kafka.topic", "kafka.partition", "kafka.offset"))
                            .as(line.toString()).allMatch(name -> !field(line, name).isMissingNode()));
        }
    }

    private static void assertCoordinates(JsonNode line, String topic, long offset) {
        assertThat(field(line, "kafka.topic").asString()).as(line.toString()).isEqualTo(topic);
        assertThat(field(line, "kafka.partition").isNumber()).as(line.toString()).isTrue();
        assertThat(field(line, "kafka.partition").asInt()).as(line.toString()).isZero();
        assertThat(field(line, "kafka.offset").asLong()).as(line.toString()).isEqualTo(offset);
    }

    /** A dotted field, nested as ECS writes it ({"kafka":{"topic":...}}) or flat as Logstash does. */
    private static JsonNode field(JsonNode line, String name) {
        JsonNode flat = line.path(name);
        return flat.isMissingNode() ? line.at("/" + name.replace('.', '/')) : flat;
    }

    private static JsonNode awaitLine(ServiceProcess service, Predicate<JsonNode> wanted) {
        List<JsonNode> found = new ArrayList<>();
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            found.clear();
            if (!service.isAlive()) {
                throw new IllegalStateException("The service ended:%n%s".formatted(service.output()));
            }
            lines(service).stream().filter(wanted).findFirst().ifPresent(found::add);
            assertThat(found).as("a matching line in:%n%s", service.output()).isNotEmpty();
        });
        return found.get(0);
    }

    /** Every line printed so far, each of which must be a JSON object. */
    private static List<JsonNode> lines(ServiceProcess service) {
        List<JsonNode> lines = new ArrayList<>();
        String output = service.output();
        // The last line may still be being written.
        List<String> complete = output.endsWith("\n") ? output.lines().toList()
                : output.lines().limit(Math.max(0, output.lines().count() - 1)).toList();
        for (String line : complete) {
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JacksonException e) {
                // Not an AssertionError: the wait for a line ends at once.
                throw new IllegalStateException("Not JSON: " + line, e);
            }
            if (!node.isObject()) {
                throw new IllegalStateException("Not a JSON object: " + line);
            }
            lines.add(node);
        }
        return lines;
    }

    private static long sent(String topic, String key, String value) throws Exception {
        return producer().send(new ProducerRecord<>(topic, 0, key, value.getBytes(StandardCharsets.UTF_8)))
                .get(30, TimeUnit.SECONDS).offset();
    }
}
