package io.github.checkout.purchase;

import static io.github.checkout.support.OutcomeCollector.ORDER_CREATED;
import static io.github.checkout.support.OutcomeCollector.ORDER_REFUNDED;
import static io.github.checkout.support.OutcomeCollector.OUT_OF_STOCK;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;

/**
 * The stress of issue 14 through the real topics: 8 producers send random carts mixed with single-item
 * purchases and refunds of the orders they see created, while operators restock; the running service
 * decides them all, oversells nothing, never deadlocks, and every item's stock adds up.
 */
@ExtendWith(OutputCaptureExtension.class)
class CartKafkaStressIT extends IntegrationTestSupport {

    private static final int PRODUCERS = 8;
    private static final int CARTS = 2_000;
    private static final int ITEMS = 20;
    private static final int INITIAL = 30;

    /** Names every request of this run; other tests' dead letters share the topics. */
    private final String run = "kstress-" + UUID.randomUUID();

    @AfterEach
    void everyOutcomeValidatesAgainstItsSchema() {
        assertThat(outcomes().schemaViolations()).isEmpty();
        assertThat(outcomes().deadLetters()).noneMatch(o -> o.record().value().contains(run));
    }

    @Test
    void randomCartsSinglesAndRefundsThroughKafka_neverOversellNeverDeadlockAndAddUpPerItem(CapturedOutput output)
            throws Exception {
        List<UUID> items = IntStream.range(0, ITEMS).mapToObj(i -> newItem(INITIAL)).toList();
        long deadlocksBefore = deadlocks();
        AtomicInteger cartsLeft = new AtomicInteger(CARTS);
        Map<UUID, Integer> restocked = new ConcurrentHashMap<>();
        List<String> purchaseKeys = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> refundKeys = java.util.Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();

        Concurrently.onOwnConnections(PRODUCERS, 1, (db, thread, ignored) -> {
            Random random = new Random(2_000L * thread + 11);
            List<String> mine = new ArrayList<>();
            int n = 0;
            String waitFor = null;
            while (cartsLeft.get() > 0) {
                // A chunk of purchases, then refunds of orders already answered, now and then a restock.
                for (int r = 0; r < 10; r++) {
                    String key = run + "-p-" + thread + "-" + n++;
                    UUID user = UUID.randomUUID();
                    if (random.nextBoolean() && cartsLeft.getAndDecrement() > 0) {
                        List<String> lines = new ArrayList<>();
                        for (int l = 0, count = 1 + random.nextInt(5); l < count; l++) {
                            lines.add("{\"itemId\":\"%s\",\"quantity\":%d}".formatted(items.get(random.nextInt(ITEMS)),
                                    1 + random.nextInt(3)));
                        }
                        send(user.toString(), "{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",\"lines\":[%s]}"
                                .formatted(key, user, String.join(",", lines)));
                    } else {
                        UUID item = items.get(random.nextInt(ITEMS));
                        send(item.toString(), json(key, user, item, 1 + random.nextInt(3)));
                    }
                    mine.add(key);
                    purchaseKeys.add(key);
                }
                // Back-pressure: the producer keeps about one chunk ahead of the service's answers.
                if (waitFor != null) {
                    String answered = waitFor;
                    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                            .failFast("a deadlock (40P01) in the database", () -> deadlocks() > deadlocksBefore)
                            .until(() -> !outcomes().forRequest(answered).isEmpty());
                }
                waitFor = mine.get(mine.size() - 1);
                for (int r = 0; r < 3; r++) {
                    // A refund of an order this producer saw created: whole, a line, or one unit of a line.
                    List<Outcome> answer = outcomes().forRequest(mine.get(random.nextInt(mine.size())));
                    if (answer.isEmpty() || !answer.get(0).topic().equals(ORDER_CREATED)) {
                        continue;
                    }
                    JsonNode created = answer.get(0).value();
                    UUID order = UUID.fromString(created.get("orderId").asString());
                    String line = "";
                    if (created.has("lines") && random.nextBoolean()) {
                        JsonNode lines = created.get("lines");
                        line = ",\"itemId\":\"" + lines.get(random.nextInt(lines.size())).get("itemId").asString() + "\""
                                + (random.nextBoolean() ? ",\"quantity\":1" : "");
                    } else if (!created.has("lines") && random.nextBoolean()) {
                        line = ",\"quantity\":1";
                    }
                    String key = run + "-r-" + thread + "-" + n++;
                    send(new ProducerRecord<>(REFUNDS, order.toString(),
                            "{\"idempotencyKey\":\"%s\",\"orderId\":\"%s\"%s,\"reason\":\"customer_return\"}"
                                    .formatted(key, order, line).getBytes(StandardCharsets.UTF_8)));
                    refundKeys.add(key);
                }
                if (random.nextInt(4) == 0) {
                    UUID item = items.get(random.nextInt(ITEMS));
                    int delta = 10 + random.nextInt(31);
                    db.sql("select restock_item(:item, :delta, 'stress')").param("item", item).param("delta", delta)
                            .query(Integer.class).single();
                    restocked.merge(item, delta, Integer::sum);
                }
            }
            return null;
        });
        producer().flush();

        await("every request decided").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .failFast("a deadlock (40P01) in the database", () -> deadlocks() > deadlocksBefore).until(() ->
                decided("purchase_decisions", run + "-p-%") == purchaseKeys.size()
                        && decided("refund_decisions", run + "-r-%") == refundKeys.size());
        Map<String, List<Outcome>> answers = new HashMap<>();
        await("every request answered once").atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            answers.clear();
            answers.putAll(outcomes().byKeyPrefix(run + "-"));
            assertThat(answers.keySet()).hasSize(purchaseKeys.size() + refundKeys.size());
        });
        long elapsed = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertThat(answers).allSatisfy((key, seen) -> assertThat(seen).as(key).hasSize(1));

        Map<UUID, Integer> sold = new HashMap<>();
        Map<UUID, Integer> refunded = new HashMap<>();
        Map<String, Integer> counts = new TreeMap<>();
        for (List<Outcome> seen : answers.values()) {
            Outcome outcome = seen.get(0);
            JsonNode value = outcome.value();
            boolean cart = value.has("lines");
            counts.merge(outcome.topic() + (cart ? " (cart)" : ""), 1, Integer::sum);
            Map<UUID, Integer> units = outcome.topic().equals(ORDER_CREATED) ? sold
                    : outcome.topic().equals(ORDER_REFUNDED) ? refunded : null;
            if (units == null) {
                continue;
            }
            if (cart) {
                value.get("lines").forEach(l -> units.merge(UUID.fromString(l.get("itemId").asString()), l.get("quantity").asInt(),
                        Integer::sum));
            } else {
                units.merge(UUID.fromString(value.get("itemId").asString()), value.get("quantity").asInt(), Integer::sum);
            }
        }
        System.out.printf("CartKafkaStressIT: %d carts, %d requests, %d refunds, %d ms to decide all; %s%n", CARTS,
                purchaseKeys.size(), refundKeys.size(), elapsed, counts);
        assertThat(counts.getOrDefault(ORDER_CREATED + " (cart)", 0)).as("carts ordered").isPositive();
        assertThat(counts.getOrDefault(OUT_OF_STOCK + " (cart)", 0)).as("carts out of stock").isPositive();
        assertThat(counts.getOrDefault(ORDER_REFUNDED + " (cart)", 0)).as("cart orders refunded").isPositive();

        Map<UUID, Map<String, Integer>> ledger = new HashMap<>();
        jdbc.sql("select item_id, reason, sum(delta)::integer as total from stock_ledger where item_id in (:items) group by item_id, reason")
                .param("items", items).query((rs, i) -> ledger.computeIfAbsent(rs.getObject("item_id", UUID.class), k -> new HashMap<>())
                        .put(rs.getString("reason"), rs.getInt("total"))).list();
        for (UUID item : items) {
            int s = sold.getOrDefault(item, 0);
            int r = refunded.getOrDefault(item, 0);
            int in = restocked.getOrDefault(item, 0);
            assertThat(stockOf(item)).isNotNegative();
            assertThat(stockOf(item) + s - r).as("stock + sold - refunded of %s", item).isEqualTo(INITIAL + in);
            Map<String, Integer> expected = new HashMap<>(Map.of("initial", INITIAL));
            if (s > 0) {
                expected.put("sales", -s);
            }
            if (r > 0) {
                expected.put("refund", r);
            }
            if (in > 0) {
                expected.put("restock", in);
            }
            assertThat(ledger.get(item)).as("ledger of %s", item).isEqualTo(expected);
        }
        assertThat(output).doesNotContain("40P01").doesNotContainIgnoringCase("deadlock detected");
        await("no deadlock counted").during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(5))
                .until(() -> deadlocks() == deadlocksBefore);
        assertThat(auditViolations()).isEmpty();
    }

    private int decided(String table, String pattern) {
        return jdbc.sql("select count(*) from " + table + " where idempotency_key like :pattern").param("pattern", pattern)
                .query(Integer.class).single();
    }
}
