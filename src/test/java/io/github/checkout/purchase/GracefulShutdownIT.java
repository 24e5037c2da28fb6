package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.HeldRowLock;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.ServiceProcess.Outcomes;
import io.github.checkout.support.ServiceProcess.Seen;
import io.github.checkout.support.TestInfrastructure;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar, stopped with SIGTERM while requests flow and a batch is in flight, held in the database
 * by a row lock. The service waits for that batch, which commits, then its listeners stop, its consumers
 * leave their groups at once (long before the session timeout, 45 s here) and the JVM exits with status 143
 * (128 + SIGTERM, the JVM's own for a stop by that signal) within seconds; meanwhile its readiness probe says 503. Started again, it decides
 * whatever came meanwhile: every request has exactly one outcome and at most one order, and the stock of
 * every item is conserved.
 */
class GracefulShutdownIT extends IntegrationTestSupport {

    private static final int PARTITIONS = 4;
    private static final Duration PACE = Duration.ofMillis(25);
    private static final int MAX_REQUESTS = 4000;
    private static final String STARTED = "Started CheckoutApplication";
    /** Well under the 20 s a batch may take (spring.lifecycle.timeout-per-shutdown-phase): this one is let go after 2 s. */
    private static final Duration EXIT_WITHIN = Duration.ofSeconds(20);
    /** How long the in-flight batch is held after the SIGTERM: the service must wait for it, not cut it. */
    private static final Duration HELD_AFTER_SIGTERM = Duration.ofSeconds(2);
    private static final int EXIT_STATUS_ON_SIGTERM = 143;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void sigtermMidStreamWithABatchInFlight_batchCommits_groupsLeft_exits143_restartDecidesEverythingOnce() throws Exception {
        Lane lane = Lane.random("sigterm", PARTITIONS).create();
        // Request i buys items[i % 4] on partition i % 4: each item has a partition of its own.
        List<UUID> items = List.of(newItem(300), newItem(100_000), newItem(100_000), newItem(100_000));
        Map<UUID, Integer> initialStock = Map.of(items.get(0), 300, items.get(1), 100_000, items.get(2), 100_000,
                items.get(3), 100_000);
        AtomicInteger sent = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();

        ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
        // One consumer thread per listener, so that exactly one batch waits on the lock. Kafka's own session
        // timeout (45 s): a consumer that does not leave stays in its group for that long.
        try (ServiceProcess service = ServiceProcess.onTestInfrastructure(lane, lane.log("service"), "--checkout.concurrency=1",
                "--spring.kafka.consumer.properties.session.timeout.ms=45000").start();
             Outcomes outcomes = new Outcomes(lane);
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers()))) {
            service.awaitOutput(STARTED, 1, Duration.ofSeconds(90));
            sender.scheduleAtFixedRate(pacedRequests(lane.purchaseRequests(), lane.prefix(), items, PARTITIONS, MAX_REQUESTS, sent, stop),
                    0, PACE.toMillis(), TimeUnit.MILLISECONDS);
            await().atMost(Duration.ofSeconds(60)).until(() -> outcomes.seen().size() >= 100);
            assertThat(readiness(service)).isEqualTo(200);

            String inFlight;
            Instant terminated;
            try (HeldRowLock lock = HeldRowLock.onItem(items.get(0))) {
                lock.awaitWaiters(1, "decide_purchases");
                // Nothing more is decided while the batch waits: once the outcomes seen stop growing, the first request
                // of partition 0 without one is in the waiting batch.
                await().atMost(Duration.ofSeconds(10)).until(() -> stableFor(outcomes, Duration.ofMillis(500)));
                Set<String> decided = outcomes.seen().stream().map(Seen::idempotencyKey).collect(Collectors.toSet());
                inFlight = IntStream.iterate(0, i -> i + PARTITIONS).mapToObj(i -> lane.prefix() + "-" + i)
                        .filter(key -> !decided.contains(key)).findFirst().orElseThrow();

                service.terminate();
                terminated = Instant.now();
                // It waits for the batch, alive as long as the lock is held, and no longer ready meanwhile.
                await().during(HELD_AFTER_SIGTERM).atMost(HELD_AFTER_SIGTERM.plusSeconds(5)).until(service::isAlive);
                assertThat(readiness(service)).as("readiness while stopping").isEqualTo(503);
                lock.release();
            }

            assertThat(service.waitFor(EXIT_WITHIN)).as("exited within %s of SIGTERM:%n%s", EXIT_WITHIN, service.output()).isTrue();
            Duration toExit = Duration.between(terminated, Instant.now());
            String firstRun = service.output();
            assertThat(service.exitValue()).as(firstRun).isEqualTo(EXIT_STATUS_ON_SIGTERM);
            assertThat(firstRun)
                    .contains("Listener purchase-requests (group " + lane.purchaseGroup() + ") stopped: no batch in flight")
                    .contains("Listener refund-requests (group " + lane.prefix() + "-refunds) stopped: no batch in flight")
                    .doesNotContain(" ERROR ");
            // The batch in flight at the SIGTERM committed before the exit: its outcome came from this run.
            assertThat(outcomes.seen()).as("outcome of %s, in the batch in flight", inFlight)
                    .anyMatch(seen -> seen.idempotencyKey().equals(inFlight));
            // Left, not timed out: both groups are empty at once, with 45 s of session timeout to go.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(admin.describeConsumerGroups(List.of(lane.purchaseGroup(), lane.prefix() + "-refunds")).all()
                            .get(10, TimeUnit.SECONDS).values()).allSatisfy(group ->
                            assertThat(group.members()).as(group.groupId()).isEmpty()));

            Instant restarted = Instant.now();
            service.start();
            service.awaitOutput(STARTED, 2, Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    outcomes.seen().stream().filter(seen -> seen.seenAt().isAfter(restarted)).count() >= 80);
            stop.set(true);
            sender.shutdown();
            assertThat(sender.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

            int requests = sent.get();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(outcomes.seen().stream().map(Seen::idempotencyKey).distinct().count()).isEqualTo(requests));
            Instant firstAfterRestart = outcomes.seen().stream().map(Seen::seenAt).filter(at -> at.isAfter(restarted))
                    .min(Comparator.naturalOrder()).orElseThrow();
            System.out.printf("GracefulShutdownIT: exited %.1f s after SIGTERM (the batch held %.1f s of it);"
                            + " restarted, first decision %.1f s after the new start%n", toExit.toMillis() / 1000.0,
                    HELD_AFTER_SIGTERM.toMillis() / 1000.0, Duration.between(restarted, firstAfterRestart).toMillis() / 1000.0);

            assertEachDecidedOnceAndStockConserved(outcomes.seen(), lane.prefix(), requests, initialStock);
        } finally {
            sender.shutdownNow();
        }
    }

    /** The HTTP status of the readiness probe on the process's management port. */
    private static int readiness(ServiceProcess service) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + service.managementPort() + "/actuator/health/readiness"))
                .timeout(Duration.ofSeconds(10)).build();
        return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static boolean stableFor(Outcomes outcomes, Duration quiet) {
        List<Seen> seen = outcomes.seen();
        return !seen.isEmpty() && seen.get(seen.size() - 1).seenAt().isBefore(Instant.now().minus(quiet));
    }
}
