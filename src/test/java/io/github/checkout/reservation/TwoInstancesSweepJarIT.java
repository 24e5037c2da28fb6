package io.github.checkout.reservation;

import static io.github.checkout.reservation.JarHolds.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.reservation.JarHolds.Reader;
import io.github.checkout.support.Prometheus;
import io.github.checkout.support.ServiceProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Two instances of the packaged jar sweep the same expired holds, and every expiry is sent more than once before it
 * is announced: the test holds the announcements back (the listener's decision fails as a serialization failure
 * does, and is retried) until each hold's ExpireReservation went out at least twice, the sweeps sending it again
 * every resend-after. Let through, each hold is announced by exactly one ReservationExpired, whichever of its
 * records is decided first, and the others announce nothing.
 */
class TwoInstancesSweepJarIT {

    private static final int PARTITIONS = 4;
    private static final int ITEMS = 3;
    private static final int STOCK = 100;
    private static final int HOLDS = ITEMS * STOCK;
    private static final Duration HOLD_FOR = Duration.ofSeconds(1);
    private static final Duration SWEEP_INTERVAL = Duration.ofMillis(100);
    /** The lowest the settings allow. */
    private static final Duration RESEND_AFTER = Duration.ofSeconds(1);

    @Test
    void twoInstancesSendingEachExpirySeveralTimes_announceEachHoldExactlyOnce() throws Exception {
        try (JarHolds holds = new JarHolds("two-sweeps", PARTITIONS)) {
            ServiceProcess first = holds.instance("first", settings("sweeper-1")).start();
            ServiceProcess second = holds.instance("second", settings("sweeper-2")).start();
            first.awaitOutput(STARTED, 1, Duration.ofSeconds(120));
            second.awaitOutput(STARTED, 1, Duration.ofSeconds(120));
            holdBackAnnouncements(holds);
            Reader reserved = holds.reader("stock-reserved");
            Reader sent = holds.reader("reservation-requests");
            Reader expired = holds.reader("reservation-expired");
            List<UUID> items = new ArrayList<>();
            for (int i = 0; i < ITEMS; i++) {
                items.add(holds.newItem(STOCK));
            }

            for (int i = 0; i < HOLDS; i++) {
                holds.placeHold(holds.lane.prefix() + "-" + i, items.get(i % ITEMS), HOLD_FOR);
            }
            holds.flush();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(reserved.values()).hasSize(HOLDS));
            Map<String, String> placedBy = reserved.values().stream().collect(Collectors.toMap(
                    r -> r.get("reservationId").asString(), r -> r.get("idempotencyKey").asString()));
            assertThat(placedBy).hasSize(HOLDS);

            // Every hold expired, and its expiry sent at least twice while nothing could announce it.
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(expiriesSent(sent))
                    .containsOnlyKeys(placedBy.keySet()).allSatisfy((id, times) -> assertThat(times).as(id).isGreaterThanOrEqualTo(2)));
            assertThat(expired.values()).as("announced while held back").isEmpty();
            letAnnouncementsThrough(holds);

            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(announced(expired).size()).as("holds announced of %d", HOLDS).isEqualTo(HOLDS));
            // The duplicates still queued behind each first record, and any resend under way, are decided meanwhile.
            await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).untilAsserted(() ->
                    assertThat(expired.values().size()).as("ReservationExpired records of %d holds", HOLDS).isEqualTo(HOLDS));

            Map<String, Long> sentPerHold = expiriesSent(sent);
            long records = sentPerHold.values().stream().mapToLong(Long::longValue).sum();
            System.out.printf("TwoInstancesSweepJarIT: %d holds, %d ExpireReservation records sent (%.1f per hold), %d announced%n",
                    HOLDS, records, (double) records / HOLDS, expired.values().size());
            assertThat(records).as("ExpireReservation records").isGreaterThanOrEqualTo(2L * HOLDS);
            assertThat(sweptBy(first)).as("expiries the first instance sent").isPositive();
            assertThat(sweptBy(second)).as("expiries the second instance sent").isPositive();

            assertThat(announced(expired)).containsOnlyKeys(placedBy.keySet())
                    .allSatisfy((id, announcements) -> assertThat(announcements).as(id).hasSize(1));
            assertThat(expired.values()).allSatisfy(e -> {
                String id = e.get("reservationId").asString();
                assertThat(e.get("eventId").asString()).as(id).isEqualTo(JarHolds.expiredEventId(id));
                assertThat(e.get("idempotencyKey").asString()).as(id).isEqualTo(placedBy.get(id));
                assertThat(e.get("lines")).as(id).hasSize(1);
            });
            assertThat(holds.count("select count(*) from reservations where status = 'expired' and announced_by is not null"))
                    .isEqualTo(HOLDS);
            assertThat(holds.db.sql("select stock from items").query(Integer.class).list()).containsOnly(STOCK).hasSize(ITEMS);
            assertThat(holds.count("select coalesce(sum(held), 0) from items")).isZero();
            assertThat(holds.auditViolations()).isEmpty();
            assertThat(first.isAlive() && second.isAlive()).isTrue();
        }
    }

    private static String[] settings(String instanceId) {
        return new String[] {"--checkout.instance-id=" + instanceId, "--checkout.holds.sweep-interval=" + SWEEP_INTERVAL,
                "--checkout.holds.resend-after=" + RESEND_AFTER, "--checkout.retry.max-interval=500ms"};
    }

    /**
     * Until {@link #letAnnouncementsThrough}, storing a hold's announcement fails as a serialization failure: the
     * listener retries its batch without end, and the hold stays expired and unannounced, so the sweeps send it again.
     */
    private static void holdBackAnnouncements(JarHolds holds) {
        holds.db.sql("""
                create function test_hold_back_announcements() returns trigger language plpgsql as $$
                begin
                    raise exception 'the test holds back the announcement of %', new.id using errcode = 'serialization_failure';
                end
                $$""").update();
        holds.db.sql("""
                create trigger test_hold_back_announcements before update on reservations for each row
                when (old.announced_by is null and new.announced_by is not null)
                execute function test_hold_back_announcements()""").update();
    }

    private static void letAnnouncementsThrough(JarHolds holds) {
        holds.db.sql("drop trigger test_hold_back_announcements on reservations").update();
    }

    /** How many ExpireReservation records went out for each hold. */
    private static Map<String, Long> expiriesSent(Reader requests) {
        return requests.values().stream().filter(r -> "ExpireReservation".equals(r.get("type").asString()))
                .collect(Collectors.groupingBy(r -> r.get("reservationId").asString(), Collectors.counting()));
    }

    private static Map<String, List<JsonNode>> announced(Reader expired) {
        return expired.values().stream().collect(Collectors.groupingBy(e -> e.get("reservationId").asString()));
    }

    /** The expiries an instance's sweep sent, a resent one again: its own count, from its metrics. */
    private static double sweptBy(ServiceProcess instance) {
        return Prometheus.scrape("http://localhost:" + instance.managementPort() + "/actuator/prometheus")
                .value("checkout_holds_expired_total", Map.of());
    }
}
