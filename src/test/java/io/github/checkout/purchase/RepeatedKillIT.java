package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.ServiceProcess.Outcomes;
import io.github.checkout.support.ServiceProcess.Seen;
import io.github.checkout.support.TestInfrastructure;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar, killed with SIGKILL three times while requests flow and restarted at once each
 * time. A restart takes its partitions back as the same static member and fences the transactions its
 * predecessor left open, so decisions resume within seconds of its start, and every request is decided
 * exactly once.
 *
 * <p>The process runs with Kafka's own session and transaction timeouts (45 s, 60 s), longer than the
 * service's: a restart must wait for neither, so any hand-over that still does shows as a gap of tens
 * of seconds. The time the new JVM takes to start is printed apart: on a busy two-core machine it is
 * most of the silence and no setting of the service changes it.
 *
 * <p>A kill lands inside a transaction only now and then, so after each kill the test leaves one open
 * itself, as a killed instance does: under one of the instance's transactional ids, with a record on
 * every outcome partition. Until something aborts it, no read_committed reader sees any later outcome.
 */
class RepeatedKillIT extends IntegrationTestSupport {

    private static final int PARTITIONS = 4;
    private static final Duration PACE = Duration.ofMillis(25);
    private static final int MAX_REQUESTS = 4000;
    private static final int KILLS = 3;
    private static final Duration MAX_GAP = Duration.ofSeconds(10);
    private static final String STARTED = "Started CheckoutApplication";
    private static final Pattern INSTANCE_ID = Pattern.compile("Instance id (\\S+)");

    @Test
    void killedHardAndRestartedThreeTimesMidStream_decidesEveryRequestOnce_andResumesWithinTenSeconds()
            throws Exception {
        Lane lane = Lane.random("kill9", PARTITIONS).create();
        Map<UUID, Integer> initialStock = Map.of(newItem(300), 300, newItem(100_000), 100_000,
                newItem(100_000), 100_000, newItem(100_000), 100_000);
        List<UUID> items = List.copyOf(initialStock.keySet());
        AtomicInteger sent = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        List<Instant> kills = new ArrayList<>();
        List<Instant> resumed = new ArrayList<>();

        List<KafkaProducer<String, String>> zombies = new ArrayList<>();
        ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
        try (ServiceProcess service = ServiceProcess.onTestInfrastructure(lane, lane.log("service"),
                "--spring.kafka.consumer.properties.session.timeout.ms=45000",
                "--spring.kafka.producer.properties.transaction.timeout.ms=60000").start();
             Outcomes outcomes = new Outcomes(lane)) {
            service.awaitOutput(STARTED, 1, Duration.ofSeconds(90));
            sender.scheduleAtFixedRate(pacedRequests(lane.purchaseRequests(), lane.prefix(), items, PARTITIONS, MAX_REQUESTS, sent, stop),
                    0, PACE.toMillis(), TimeUnit.MILLISECONDS);

            for (int kill = 1; kill <= KILLS; kill++) {
                awaitDecisionsAfter(outcomes, kill == 1 ? Instant.EPOCH : resumed.get(kill - 2), 150, service);
                service.killHard();
                kills.add(Instant.now());
                zombies.add(transactionLeftOpen(lane, instanceId(service) + "-" + kill));
                service.start();
                awaitDecisionsAfter(outcomes, kills.get(kill - 1), 50, service);
                resumed.add(Instant.now());
            }
            awaitDecisionsAfter(outcomes, resumed.get(KILLS - 1), 80, service);
            stop.set(true);
            sender.shutdown();
            assertThat(sender.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

            int requests = sent.get();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(outcomes.seen().stream().map(Seen::idempotencyKey).distinct().count()).isEqualTo(requests));

            List<Instant> started = service.loggedAt(STARTED);
            List<Duration> handOvers = new ArrayList<>();
            for (int kill = 0; kill < KILLS; kill++) {
                Instant restarted = started.get(kill + 1);
                Duration silence = longestSilence(outcomes.seen(), kills.get(kill), resumed.get(kill));
                Duration handOver = Duration.between(restarted, firstSeenAfter(outcomes.seen(), restarted));
                handOvers.add(handOver);
                System.out.printf("RepeatedKillIT: kill -9 #%d: %.1f s without a decision: the new JVM started in %.1f s,"
                                + " then decided %.1f s later%n", kill + 1, seconds(silence),
                        seconds(Duration.between(kills.get(kill), restarted)), seconds(handOver));
            }

            assertEachDecidedOnceAndStockConserved(outcomes.seen(), lane.prefix(), requests, initialStock);
            assertThat(handOvers).as("time from each restart's start to its first decision").allSatisfy(gap ->
                    assertThat(gap).isLessThan(MAX_GAP));
        } finally {
            sender.shutdownNow();
            zombies.forEach(zombie -> zombie.close(Duration.ZERO));
        }
    }

    private static String instanceId(ServiceProcess service) {
        Matcher matcher = INSTANCE_ID.matcher(service.output());
        assertThat(matcher.find()).as("instance id logged").isTrue();
        return matcher.group(1);
    }

    /**
     * What a kill in the middle of publishing leaves behind: a transaction open under the transactional id
     * {@code <purchase group>-<suffix>}, with an outcome on every outcome partition, that nobody commits.
     */
    private static KafkaProducer<String, String> transactionLeftOpen(Lane lane, String suffix) {
        var producer = new KafkaProducer<>(Map.<String, Object>of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, lane.purchaseGroup() + "-" + suffix,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000),
                new StringSerializer(), new StringSerializer());
        producer.initTransactions();
        producer.beginTransaction();
        for (String topic : lane.outcomeTopics()) {
            for (int p = 0; p < PARTITIONS; p++) {
                // Never visible once aborted; if it were, its key would count as one request too many.
                producer.send(new ProducerRecord<>(topic, p, "zombie",
                        "{\"idempotencyKey\":\"%s-zombie\",\"itemId\":\"%s\"}".formatted(lane.prefix(), UUID.randomUUID())));
            }
        }
        producer.flush();
        return producer;
    }

    /** Waits until {@code count} outcomes were seen after {@code sinceNanos}, failing early if the process died. */
    private static void awaitDecisionsAfter(Outcomes outcomes, Instant since, int count, ServiceProcess service) {
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            assertThat(service.isAlive()).as("service is alive:%n%s", service.output()).isTrue();
            assertThat(outcomes.seen().stream().filter(s -> s.seenAt().isAfter(since)).count()).isGreaterThanOrEqualTo(count);
        });
    }

    /**
     * The longest time between two consecutive outcomes seen, from the kill until the restart was seen
     * deciding. The requests flow steadily, so anything longer than a few batches is the stall.
     */
    private static Duration longestSilence(List<Seen> seen, Instant killedAt, Instant resumedAt) {
        List<Instant> times = seen.stream().map(Seen::seenAt).sorted().toList();
        Duration longest = Duration.ZERO;
        for (int i = 1; i < times.size(); i++) {
            if (!times.get(i).isBefore(killedAt) && !times.get(i - 1).isAfter(resumedAt)) {
                Duration gap = Duration.between(times.get(i - 1), times.get(i));
                longest = gap.compareTo(longest) > 0 ? gap : longest;
            }
        }
        return longest;
    }

    private static Instant firstSeenAfter(List<Seen> seen, Instant since) {
        return seen.stream().map(Seen::seenAt).filter(at -> at.isAfter(since)).min(Comparator.naturalOrder()).orElseThrow();
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }
}
