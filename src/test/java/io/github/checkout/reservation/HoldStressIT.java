package io.github.checkout.reservation;

import static io.github.checkout.support.DecideCalls.decidePurchase;
import static io.github.checkout.support.DecideCalls.decideReservation;
import static io.github.checkout.support.DecideCalls.sweep;
import static io.github.checkout.support.DecideCalls.retried;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.DecideCalls.Purchase;
import io.github.checkout.support.DecideCalls.PurchaseAnswer;
import io.github.checkout.support.DecideCalls.Reservation;
import io.github.checkout.support.DecideCalls.ReservationAnswer;
import io.github.checkout.support.IntegrationTestSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * 1,000 buyers holding the last 10 units from 8 connections, straight through the database functions: every other
 * hold granted is confirmed, the rest expire (lazily, for the next buyer, or by a sweep running all along), and the
 * buyers left out buy again the units that came back. Nothing oversold, no deadlock, every hold ended once, every
 * expiry returned once for announcement.
 */
class HoldStressIT extends IntegrationTestSupport {

    private static final int THREADS = 8;
    private static final int BUYERS = 1_000;
    private static final int UNITS = 10;
    private static final Duration HOLD_FOR = Duration.ofSeconds(2);

    @Test
    void thousandBuyersHoldingTheLastTenUnits_halfConfirmHalfExpire_andTheRestBuyWhatCameBack() throws Exception {
        String run = "hold-stress-" + UUID.randomUUID();
        UUID item = newItem(UNITS);
        long deadlocksBefore = deadlocks();
        Queue<String> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger grants = new AtomicInteger();
        Map<UUID, Boolean> holds = new ConcurrentHashMap<>();            // hold -> chosen to be confirmed
        Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
        Set<UUID> confirmedByAnswer = ConcurrentHashMap.newKeySet();
        AtomicInteger boughtAgain = new AtomicInteger();
        Queue<UUID> swept = new ConcurrentLinkedQueue<>();
        AtomicBoolean buying = new AtomicBoolean(true);
        CyclicBarrier holdsPlaced = new CyclicBarrier(THREADS);
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();

        ExecutorService sweeper = Executors.newSingleThreadExecutor();
        SingleConnectionDataSource sweepConnection = Concurrently.connection();
        Future<?> sweeping = sweeper.submit(() -> {
            JdbcClient db = JdbcClient.create(sweepConnection);
            while (buying.get()) {
                List<UUID> ids = retried(errors, () -> sweep(db, 100, Duration.ofHours(1)));
                if (ids != null) {
                    swept.addAll(ids);
                }
                Thread.sleep(10); // pacing only: the sweep's tick
            }
            return null;
        });
        try {
            Concurrently.onOwnConnections(THREADS, 1, (db, thread, ignored) -> {
                List<Integer> waiting = new ArrayList<>();
                for (int buyer = thread; buyer < BUYERS; buyer += THREADS) {
                    Purchase hold = Purchase.single(run + "-hold-" + buyer, UUID.randomUUID(), item, 1).held(HOLD_FOR);
                    PurchaseAnswer placed = retried(errors, () -> decidePurchase(db, hold));
                    if (placed == null) {
                        continue;
                    }
                    count(counts, "place " + placed.outcome());
                    if (placed.outcome().equals("OUT_OF_STOCK")) {
                        waiting.add(buyer);
                    } else if (placed.outcome().equals("STOCK_RESERVED")) {
                        boolean confirm = grants.getAndIncrement() % 2 == 0;
                        holds.put(placed.reservationId(), confirm);
                        if (confirm) {
                            ReservationAnswer answer = retried(errors, () -> decideReservation(db,
                                    Reservation.confirm(hold.key() + "-confirm", placed.reservationId())));
                            if (answer != null) {
                                count(counts, "confirm " + answer.outcome() + " " + answer.errorCode());
                                if (answer.outcome().equals("ORDER_CREATED")) {
                                    confirmedByAnswer.add(placed.reservationId());
                                }
                            }
                        }
                    } else {
                        errors.add("placing answered " + placed);
                    }
                }
                holdsPlaced.await(60, TimeUnit.SECONDS);
                // Those left out buy again, plainly, until they get a unit or none can come back any more.
                for (int attempt = 0; !waiting.isEmpty() && errors.size() < 20 && System.nanoTime() < deadline; attempt++) {
                    List<Integer> still = new ArrayList<>();
                    for (int buyer : waiting) {
                        int n = attempt;
                        PurchaseAnswer bought = retried(errors, () -> decidePurchase(db,
                                Purchase.single(run + "-again-" + buyer + "-" + n, UUID.randomUUID(), item, 1)));
                        if (bought == null) {
                            continue;
                        }
                        if (bought.outcome().equals("ORDER_CREATED")) {
                            boughtAgain.incrementAndGet();
                        } else if (bought.stock() > 0 || heldOf(db, item) > 0) {
                            still.add(buyer);
                        }
                    }
                    waiting = still;
                    Thread.sleep(20); // pacing only: a buyer left out tries again every 20 ms
                }
                return null;
            });
        } finally {
            buying.set(false);
            sweeping.get(30, TimeUnit.SECONDS);
            sweeper.shutdown();
            swept.addAll(sweep(jdbc, 1_000, Duration.ofHours(1)));
            sweepConnection.destroy();
        }

        Map<UUID, String> statuses = jdbc.sql("select id, status from reservations where idempotency_key like :run")
                .param("run", run + "-hold-%")
                .query((rs, n) -> Map.entry(rs.getObject("id", UUID.class), rs.getString("status"))).list().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        Set<UUID> expired = statuses.entrySet().stream().filter(e -> e.getValue().equals("expired")).map(Map.Entry::getKey)
                .collect(Collectors.toSet());
        int orders = ordersOf(item);
        System.out.printf("HoldStressIT: %d holds granted, %d confirmed, %d expired, %d bought again, %d orders; %s%n",
                holds.size(), confirmedByAnswer.size(), expired.size(), boughtAgain.get(), orders,
                new java.util.TreeMap<>(counts.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get()))));

        assertThat(errors).as("exceptions (40P01: a deadlock)").isEmpty();
        await("no deadlock counted").during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(5))
                .until(() -> deadlocks() == deadlocksBefore);
        assertThat(holds.size()).as("holds granted").isGreaterThanOrEqualTo(UNITS);
        assertThat(statuses.keySet()).as("the holds in the database are those granted").isEqualTo(holds.keySet());
        assertThat(counts.keySet()).as("confirmations answered").allSatisfy(answer -> assertThat(answer)
                .isIn("place STOCK_RESERVED", "place OUT_OF_STOCK", "confirm ORDER_CREATED null",
                        "confirm REJECTED reservation_expired"));
        assertThat(confirmedByAnswer).as("confirmed").isNotEmpty();
        statuses.forEach((id, status) -> assertThat(status).as("hold %s", id)
                .isEqualTo(confirmedByAnswer.contains(id) ? "confirmed" : "expired"));
        assertThat(expired).as("expired: the holds let go, and those confirmed too late")
                .containsAll(holds.entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey).toList());
        Map<UUID, Long> endings = jdbc.sql("""
                        select r.id, count(l.id) as n from reservations r
                        left join stock_ledger l on r.id = any (l.reservation_ids) and l.reason <> 'holds'
                        where r.idempotency_key like :run group by r.id""")
                .param("run", run + "-hold-%")
                .query((rs, n) -> Map.entry(rs.getObject("id", UUID.class), rs.getLong("n"))).list().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        assertThat(endings).as("ending ledger rows per hold").hasSize(holds.size()).allSatisfy((id, n) -> assertThat(n).isOne());
        List<UUID> ourSwept = swept.stream().filter(holds::containsKey).toList();
        assertThat(ourSwept).as("each expiry returned once for announcement, and no other hold")
                .containsExactlyInAnyOrderElementsOf(expired);

        assertThat(orders).as("orders: confirmed holds and units bought again").isEqualTo(confirmedByAnswer.size() + boughtAgain.get());
        assertThat(boughtAgain.get()).as("every unit that came back was bought again").isEqualTo(expired.size() - (holds.size() - UNITS));
        assertThat(orders).as("never more than the units there were; all of them sold").isEqualTo(UNITS);
        if (holds.size() == UNITS && confirmedByAnswer.size() == UNITS / 2) {
            assertThat(orders).isEqualTo(5 + boughtAgain.get());
        }
        Map<String, Object> row = jdbc.sql("select stock, held from items where id = :id").param("id", item).query().singleRow();
        assertThat(row).containsEntry("stock", 0).containsEntry("held", 0);
        assertThat(auditViolations()).isEmpty();
    }

    private static int heldOf(JdbcClient db, UUID item) {
        return db.sql("select held from items where id = :id").param("id", item).query(Integer.class).single();
    }

    private static void count(Map<String, AtomicInteger> counts, String name) {
        counts.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
    }
}
