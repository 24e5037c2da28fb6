package io.github.checkout.reservation;

import static io.github.checkout.support.OutcomeCollector.ORDER_CREATED;
import static io.github.checkout.support.OutcomeCollector.OUT_OF_STOCK;
import static io.github.checkout.support.OutcomeCollector.RESERVATION_EXPIRED;
import static io.github.checkout.support.OutcomeCollector.STOCK_RESERVED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The last test, through the topics and the running service with its own sweep: 1,000 buyers ask at once
 * to hold the last 10 units; half of the holds are confirmed, half are left to expire, while the buyers that found
 * nothing keep trying to buy. Every hold ends once, the expired units are bought again, and nothing is oversold.
 */
class HoldKafkaStressIT extends IntegrationTestSupport {

    private static final int BUYERS = 1_000;
    private static final int UNITS = 10;
    private static final int PRODUCERS = 8;
    private static final String HOLD_FOR = "PT3S";

    /** Names every request of this run. */
    private final String run = "hkstress-" + UUID.randomUUID();

    @AfterEach
    void everyOutcomeValidatesAgainstItsSchema() {
        assertThat(outcomes().schemaViolations()).isEmpty();
        assertThat(outcomes().deadLetters()).noneMatch(o -> o.record().value().contains(run));
    }

    @Test
    void thousandBuyersHoldTheLastTen_halfConfirmHalfExpire_andTheExpiredUnitsAreBoughtAgain() throws Exception {
        UUID item = newItem(UNITS);

        // 1. Every buyer asks for a hold at the same time, from 8 producers.
        ExecutorService producers = Executors.newFixedThreadPool(PRODUCERS);
        List<Future<?>> sent = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
            int producer = p;
            sent.add(producers.submit(() -> IntStream.range(0, BUYERS).filter(b -> b % PRODUCERS == producer).forEach(b ->
                    send(item.toString(), "{\"idempotencyKey\":\"%s-hold-%d\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":1,\"holdFor\":\"%s\"}"
                            .formatted(run, b, UUID.randomUUID(), item, HOLD_FOR)))));
        }
        for (Future<?> f : sent) {
            f.get();
        }
        producer().flush();
        Map<String, List<Outcome>> placed = await("every hold request answered").atMost(Duration.ofSeconds(60))
                .until(() -> outcomes().byKeyPrefix(run + "-hold-"), answers -> answers.size() == BUYERS);
        List<Outcome> reserved = placed.values().stream().map(seen -> seen.get(0))
                .filter(o -> o.topic().equals(STOCK_RESERVED)).toList();
        assertThat(reserved).as("exactly the last 10 units are held").hasSize(UNITS);
        assertThat(placed.values()).map(seen -> seen.get(0).topic()).filteredOn(OUT_OF_STOCK::equals).hasSize(BUYERS - UNITS);
        assertThat(stockOf(item)).isZero();

        // 2. Half of the holders pay and confirm; the other half let their holds run out.
        List<UUID> holds = reserved.stream().map(o -> UUID.fromString(o.text("reservationId"))).sorted().toList();
        List<UUID> confirmed = holds.subList(0, UNITS / 2);
        for (UUID hold : confirmed) {
            send(new ProducerRecord<>("reservation-requests", hold.toString(),
                    "{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"%s-confirm-%s\",\"reservationId\":\"%s\"}"
                            .formatted(run, hold, hold).getBytes(StandardCharsets.UTF_8)));
        }

        // 3. Meanwhile the buyers that found nothing try once more each, in waves, until after the holds expired.
        List<String> lateBuyers = placed.entrySet().stream().filter(e -> e.getValue().get(0).topic().equals(OUT_OF_STOCK))
                .map(Map.Entry::getKey).sorted().toList();
        int waves = 15;
        int perWave = (lateBuyers.size() + waves - 1) / waves;
        for (int w = 0; w < waves; w++) {
            lateBuyers.stream().skip((long) w * perWave).limit(perWave).forEach(buyer ->
                    send(item.toString(), json(buyer.replace("-hold-", "-again-"), UUID.randomUUID(), item, 1)));
            producer().flush();
            int wave = w;
            await().pollDelay(Duration.ofMillis(250)).atMost(Duration.ofSeconds(30)).until(() ->
                    outcomes().byKeyPrefix(run + "-again-").size() >= Math.min(lateBuyers.size(), (wave + 1) * perWave));
        }

        Map<String, List<Outcome>> again = outcomes().byKeyPrefix(run + "-again-");
        assertThat(again).hasSize(lateBuyers.size()).allSatisfy((key, seen) -> assertThat(seen).as(key).hasSize(1));
        long boughtAgain = again.values().stream().filter(seen -> seen.get(0).topic().equals(ORDER_CREATED)).count();

        // Each hold ended exactly once: the confirmed ones as an order, the others as one announced expiry.
        await("every expiry announced").atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(outcomes().byKeyPrefix(run + "-hold-").values().stream().flatMap(List::stream)
                        .filter(o -> o.topic().equals(RESERVATION_EXPIRED))).hasSize(UNITS / 2));
        Map<String, List<Outcome>> confirmations = outcomes().byKeyPrefix(run + "-confirm-");
        assertThat(confirmations).hasSize(UNITS / 2).allSatisfy((key, seen) -> {
            assertThat(seen).as(key).hasSize(1);
            assertThat(seen.get(0).topic()).as(key).isEqualTo(ORDER_CREATED);
        });
        assertThat(confirmations.values()).map(seen -> UUID.fromString(seen.get(0).text("reservationId")))
                .containsExactlyInAnyOrderElementsOf(confirmed);
        List<UUID> expired = outcomes().byKeyPrefix(run + "-hold-").values().stream().flatMap(List::stream)
                .filter(o -> o.topic().equals(RESERVATION_EXPIRED)).map(o -> UUID.fromString(o.text("reservationId"))).toList();
        assertThat(expired).doesNotHaveDuplicates().doesNotContainAnyElementsOf(confirmed)
                .containsExactlyInAnyOrderElementsOf(holds.subList(UNITS / 2, UNITS));

        // Exactly 5 + the units bought again orders; here every expired unit was bought again, and no more.
        assertThat(boughtAgain).as("the expired units, bought by the buyers that kept trying").isEqualTo(UNITS / 2);
        assertThat(ordersOf(item)).isEqualTo(UNITS / 2 + (int) boughtAgain);
        assertThat(jdbc.sql("select stock, held from items where id = :item").param("item", item)
                .query((rs, n) -> List.of(rs.getInt("stock"), rs.getInt("held"))).single()).containsExactly(0, 0);
        assertThat(jdbc.sql("select count(*) from reservations r join purchase_decisions d on d.reservation_id = r.id "
                        + "where d.item_id = :item and r.status = 'held'").param("item", item).query(Integer.class).single())
                .isZero();
        await("a sweep that found nothing more to announce").pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(outcomes().byKeyPrefix(run + "-hold-").values().stream().flatMap(List::stream)
                        .filter(o -> o.topic().equals(RESERVATION_EXPIRED))).as("still one expiry per hold").hasSize(UNITS / 2));
        assertThat(auditViolations()).isEmpty();
    }
}
