package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.ServiceProcess.Outcomes;
import io.github.checkout.support.ServiceProcess.Seen;
import io.github.checkout.support.TestInfrastructure;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Two instances of the packaged jar in one group; one is frozen with SIGSTOP in the middle of a batch,
 * its database transaction open, until its session has timed out and the other has taken its partitions,
 * then resumed. The resumed one finishes its batch as a zombie: its database decision stands (the other
 * instance answers with it), and its Kafka transaction must not commit.
 */
class FrozenInstanceIT extends IntegrationTestSupport {

    private static final int PARTITIONS = 4;
    private static final Duration PACE = Duration.ofMillis(25);
    private static final int MAX_REQUESTS = 4000;
    private static final String STARTED = "Started CheckoutApplication";
    private static final Pattern INSTANCE_ID = Pattern.compile("Instance id (\\S+)");

    @Autowired
    private DataSource dataSource;

    @Test
    void oneOfTwoInstancesFrozenMidBatchPastItsSessionTimeout_noDuplicateOutcomeNorOrder_andEverythingDecided()
            throws Exception {
        Lane lane = Lane.random("frozen", PARTITIONS).create();
        UUID locked = newItem(100_000);
        Map<UUID, Integer> initialStock = Map.of(newItem(200), 200, newItem(100_000), 100_000, newItem(100_000), 100_000,
                locked, 100_000);
        List<UUID> flowing = initialStock.keySet().stream().filter(item -> !item.equals(locked)).toList();
        AtomicInteger sent = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();

        ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
        try (ServiceProcess a = ServiceProcess.onTestInfrastructure(lane, lane.log("a"), "--checkout.concurrency=2").start();
             ServiceProcess b = ServiceProcess.onTestInfrastructure(lane, lane.log("b"), "--checkout.concurrency=2").start();
             Outcomes outcomes = new Outcomes(lane);
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers()))) {
            a.awaitOutput(STARTED, 1, Duration.ofSeconds(90));
            b.awaitOutput(STARTED, 1, Duration.ofSeconds(90));
            String idOfA = instanceId(a);
            String idOfB = instanceId(b);
            assertThat(idOfA).isNotEqualTo(idOfB);
            // Two consumer threads each, four partitions: one partition per thread once both have joined.
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(partitionsOf(admin, lane, idOfA)).hasSize(PARTITIONS / 2));
            int partitionOfA = partitionsOf(admin, lane, idOfA).iterator().next().partition();

            sender.scheduleAtFixedRate(pacedRequests(lane.purchaseRequests(), lane.prefix(), flowing, PARTITIONS, MAX_REQUESTS, sent, stop),
                    0, PACE.toMillis(), TimeUnit.MILLISECONDS);
            awaitDecisionsAfter(outcomes, Instant.EPOCH, 100);

            // Forced overlap: A's consumer thread waits in the database, inside its batch, when it is frozen.
            String lockedKey = lane.prefix() + "-locked";
            try (Connection lock = dataSource.getConnection()) {
                lock.setAutoCommit(false);
                try (PreparedStatement select = lock.prepareStatement("select stock from items where id = ? for update")) {
                    select.setObject(1, locked);
                    select.executeQuery().close();
                }
                send(new ProducerRecord<>(lane.purchaseRequests(), partitionOfA, locked.toString(),
                        json(lockedKey, UUID.randomUUID(), locked, 1).getBytes(StandardCharsets.UTF_8)));
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                        jdbc.sql("select count(*) from pg_locks where not granted").query(Integer.class).single()).isPositive());
                a.freeze();
                lock.commit();
            }
            Instant frozen = Instant.now();

            // Past A's session timeout: the coordinator has dropped A's members and given B every partition.
            await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
                assertThat(b.isAlive()).isTrue();
                assertThat(partitionsOf(admin, lane, idOfB)).hasSize(PARTITIONS);
            });
            System.out.printf("FrozenInstanceIT: B took over the partitions of frozen A after %.1f s%n",
                    Duration.between(frozen, Instant.now()).toMillis() / 1000.0);
            a.resume();
            Instant resumed = Instant.now();
            awaitDecisionsAfter(outcomes, resumed, 200);
            stop.set(true);
            sender.shutdown();
            assertThat(sender.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

            int requests = sent.get() + 1;
            await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
                    assertThat(outcomes.seen().stream().map(Seen::idempotencyKey).distinct().count()).isEqualTo(requests));
            System.out.printf("FrozenInstanceIT: %d requests decided; A %s after it was resumed%n", requests,
                    a.isAlive() ? "is running again" : "exited with status " + a.exitValue());

            assertEachDecidedOnceAndStockConserved(outcomes.seen(), lane.prefix(), requests, initialStock);
            assertThat(outcomes.seen()).anyMatch(s -> s.idempotencyKey().equals(lockedKey));
            assertThat(b.isAlive()).as("B is running:%n%s", b.output()).isTrue();
        } finally {
            sender.shutdownNow();
        }
    }

    private static String instanceId(ServiceProcess process) {
        Matcher matcher = INSTANCE_ID.matcher(process.output());
        assertThat(matcher.find()).as("instance id logged").isTrue();
        return matcher.group(1);
    }

    /** The purchase-request partitions the group coordinator has assigned to the static members of this instance. */
    private static Set<TopicPartition> partitionsOf(Admin admin, Lane lane, String instanceId) throws Exception {
        var group = admin.describeConsumerGroups(List.of(lane.purchaseGroup())).all().get(10, TimeUnit.SECONDS)
                .get(lane.purchaseGroup());
        return group.members().stream()
                .filter(member -> member.groupInstanceId().orElse("").startsWith(instanceId + "-"))
                .map(MemberDescription::assignment)
                .flatMap(assignment -> assignment.topicPartitions().stream())
                .collect(Collectors.toSet());
    }

    private static void awaitDecisionsAfter(Outcomes outcomes, Instant since, int count) {
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
                assertThat(outcomes.seen().stream().filter(s -> s.seenAt().isAfter(since)).count()).isGreaterThanOrEqualTo(count));
    }
}
