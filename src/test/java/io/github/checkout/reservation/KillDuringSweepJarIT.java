package io.github.checkout.reservation;

import static io.github.checkout.reservation.JarHolds.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.reservation.JarHolds.Reader;
import io.github.checkout.support.ServiceProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The packaged jar killed with SIGKILL in the middle of sweeping thousands of due holds, a small batch per tick,
 * and restarted as the same instance. The kill lands where an expiry is easiest to lose: between a sweep's two
 * commits, its holds expired and marked sent in the database and its ExpireReservation records not yet committed in
 * Kafka (the test freezes the process at random moments until it finds it there, then kills it). After the restart
 * every hold is expired once and announced once: the holds marked but never sent are sent again after resend-after.
 */
class KillDuringSweepJarIT {

    private static final int PARTITIONS = 4;
    private static final int ITEMS = 20;
    private static final int STOCK = 100;
    private static final int HOLDS = ITEMS * STOCK;
    private static final Duration HOLD_FOR = Duration.ofSeconds(5);
    private static final int SWEEP_BATCH = 20;
    private static final Duration SWEEP_INTERVAL = Duration.ofMillis(50);
    private static final Duration RESEND_AFTER = Duration.ofSeconds(1);
    private static final int MAX_FREEZES = 60;

    @Test
    void killedHardWhileSweeping_expiresAndAnnouncesEveryHoldExactlyOnce() throws Exception {
        try (JarHolds holds = new JarHolds("kill-sweep", PARTITIONS)) {
            ServiceProcess service = holds.instance("service", "--checkout.instance-id=sweeper",
                    "--checkout.holds.sweep-batch=" + SWEEP_BATCH, "--checkout.holds.sweep-interval=" + SWEEP_INTERVAL,
                    "--checkout.holds.resend-after=" + RESEND_AFTER, "--checkout.retry.max-interval=500ms").start();
            service.awaitOutput(STARTED, 1, Duration.ofSeconds(120));
            Reader reserved = holds.reader("stock-reserved");
            Reader sent = holds.reader("reservation-requests");
            Reader expired = holds.reader("reservation-expired");
            List<UUID> items = new ArrayList<>();
            for (int i = 0; i < ITEMS; i++) {
                items.add(holds.newItem(STOCK));
            }

            Instant placing = Instant.now();
            for (int i = 0; i < HOLDS; i++) {
                holds.placeHold(holds.lane.prefix() + "-" + i, items.get(i % ITEMS), HOLD_FOR);
            }
            holds.flush();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(reserved.values()).hasSize(HOLDS));
            Duration placed = Duration.between(placing, Instant.now());
            Map<String, String> placedBy = reserved.values().stream().collect(Collectors.toMap(
                    r -> r.get("reservationId").asString(), r -> r.get("idempotencyKey").asString()));

            // The sweep under way, some holds announced, ...
            await().atMost(Duration.ofSeconds(60)).until(() -> !expired.values().isEmpty());
            // ... then frozen (SIGSTOP) at random moments until one lands between a sweep's two commits: its holds
            // marked sent in the database, its ExpireReservation records not committed in Kafka. Frozen, the sweep
            // commits nothing more; what the broker already committed reaches the reader meanwhile.
            Set<String> lostUnlessResent = Set.of();
            int freezes = 0;
            for (int attempt = 1; lostUnlessResent.isEmpty(); attempt++) {
                freezes = attempt;
                assertThat(attempt).as("tries to freeze a sweep between its two commits").isLessThanOrEqualTo(MAX_FREEZES);
                Thread.sleep(ThreadLocalRandom.current().nextInt(50)); // pacing only: a random moment of the sweep
                service.freeze();
                int markedAtFreeze = holds.count("select count(*) from reservations where expiry_sent_at is not null");
                await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                        assertThat(holds.count("select count(*) from reservations where expiry_sent_at is not null"))
                                .as("holds marked sent while the sweep is frozen").isEqualTo(markedAtFreeze));
                lostUnlessResent = markedButNotSent(holds, sent);
                if (lostUnlessResent.isEmpty()) {
                    service.resume();
                }
            }
            int announcedAtKill = holds.count("select count(*) from reservations where announced_by is not null");
            int expiredAtKill = holds.count("select count(*) from reservations where status = 'expired'");
            service.killHard();
            System.out.printf("KillDuringSweepJarIT: %d holds placed in %.1f s; killed at freeze %d with %d expired,"
                            + " %d announced, %d marked sent but never sent%n", HOLDS, placed.toMillis() / 1000.0, freezes,
                    expiredAtKill, announcedAtKill, lostUnlessResent.size());
            assertThat(announcedAtKill).as("holds announced when killed").isStrictlyBetween(0, HOLDS);
            assertThat(lostUnlessResent).as("marked sent, never sent, and not announced").isNotEmpty();

            Instant restarted = Instant.now();
            service.start();
            service.awaitOutput(STARTED, 2, Duration.ofSeconds(120));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(announced(expired).size()).as("holds announced of %d", HOLDS).isEqualTo(HOLDS));
            System.out.printf("KillDuringSweepJarIT: every hold announced %.1f s after the restart%n",
                    Duration.between(restarted, Instant.now()).toMillis() / 1000.0);
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(expired.values().size()).as("ReservationExpired records of %d holds", HOLDS).isEqualTo(HOLDS));

            assertThat(announced(expired)).containsOnlyKeys(placedBy.keySet())
                    .allSatisfy((id, announcements) -> assertThat(announcements).as(id).hasSize(1));
            assertThat(expired.values()).allSatisfy(e -> {
                String id = e.get("reservationId").asString();
                assertThat(e.get("eventId").asString()).as(id).isEqualTo(JarHolds.expiredEventId(id));
                assertThat(e.get("idempotencyKey").asString()).as(id).isEqualTo(placedBy.get(id));
            });
            assertThat(holds.count("select count(*) from reservations where status = 'expired' and announced_by is not null"))
                    .isEqualTo(HOLDS);
            // One hold_expired row per line of each hold (the audit's 'holds' check), and nothing else ended one.
            assertThat(holds.count("select count(*) from stock_ledger where reason in ('hold_confirmed', 'hold_released')")).isZero();
            assertThat(holds.db.sql("select stock from items").query(Integer.class).list()).containsOnly(STOCK).hasSize(ITEMS);
            assertThat(holds.count("select coalesce(sum(held), 0) from items")).isZero();
            assertThat(holds.auditViolations()).isEmpty();
        }
    }

    /** Holds the database has marked as sent and not announced, whose ExpireReservation no reader has seen. */
    private static Set<String> markedButNotSent(JarHolds holds, Reader sent) {
        Set<String> marked = new HashSet<>(holds.db.sql(
                        "select id::text from reservations where expiry_sent_at is not null and announced_by is null")
                .query(String.class).list());
        marked.removeAll(sent.texts("reservationId"));
        return marked;
    }

    private static Map<String, List<JsonNode>> announced(Reader expired) {
        return expired.values().stream().collect(Collectors.groupingBy(e -> e.get("reservationId").asString()));
    }
}
