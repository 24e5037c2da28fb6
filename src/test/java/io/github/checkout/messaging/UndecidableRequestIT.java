package io.github.checkout.messaging;

import static io.github.checkout.support.OutcomeCollector.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.DatabaseProxy;
import io.github.checkout.support.HeldAdvisoryLock;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * A request that fails in the database on every try, for a reason of its own, is isolated and
 * dead-lettered as undecidable; every other request of its batch is decided exactly once, and other
 * partitions keep flowing meanwhile. A trigger installed by the test raises for the "bad" key and, for
 * the "wait" key right behind it, waits on an advisory lock the test holds: its batch is then held in
 * the middle of being split, which forces the overlaps the tests need.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + UndecidableRequestIT.PURCHASES,
        "checkout.topics.refund-requests=" + UndecidableRequestIT.REFUNDS,
        "checkout.groups.purchases=undecidable-it",
        "checkout.groups.refunds=undecidable-it-refunds",
        // One consumer thread per partition, which the default gives only from two processors up: the test
        // holds one partition's batch and checks that another partition keeps flowing.
        "checkout.concurrency=4",
        // A connection attempt to the cut database fails within a second, so that a split that took such a
        // failure for the request's own would dead-letter it within the seconds the database is away.
        "spring.datasource.hikari.connection-timeout=1000"})
class UndecidableRequestIT extends IntegrationTestSupport {

    static final String PURCHASES = "undecidable-requests";
    static final String REFUNDS = "undecidable-refunds";
    private static final long LOCK = 4242;

    private static DatabaseProxy database;

    @Autowired
    KafkaListenerEndpointRegistry listeners;

    @Autowired
    MeterRegistry meters;

    @DynamicPropertySource
    static void throughProxy(DynamicPropertyRegistry registry) {
        database = DatabaseProxy.forService(registry);
    }

    @AfterAll
    static void closeProxy() {
        database.close();
    }

    @BeforeEach
    void installTrigger() {
        refuseAndHoldKeys("undecidable_it", "bad-%", "wait-%", 4242);
    }

    @Test
    void oneRequestFailingInTheDatabaseEveryTime_isDeadLetteredAsUndecidable_theOther499DecidedOnce_otherPartitionsFlow() {
        double undecidable = counted("checkout.dead.letters", "reason", "undecidable");
        double created = counted("checkout.decisions", "outcome", "order_created");
        UUID item = newItem(1_000);
        String run = UUID.randomUUID().toString();
        List<String> keys = fiveHundredKeys(run);

        try (HeldAdvisoryLock held = heldInTheMiddleOfASplit(item, keys)) {
            // Partition 0 is held in the middle of splitting its batch; partition 1 keeps flowing.
            UUID other = newItem(10);
            for (int i = 0; i < 10; i++) {
                send(new ProducerRecord<>(PURCHASES, 1, other.toString(),
                        json("other-" + run + "-" + i, UUID.randomUUID(), other, 1).getBytes(StandardCharsets.UTF_8)));
            }
            producer().flush();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(other)).hasSize(10));
            assertThat(held.somebodyWaits()).isTrue();
        }

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(outcomes().forItem(item)).hasSize(499);
            assertThat(deadLetters(run)).hasSize(1);
        });
        Outcome dead = deadLetters(run).get(0);
        assertThat(dead.record().value()).isEqualTo(json("bad-" + run, userOf("bad-" + run), item, 1));
        assertThat(headers(dead.record(), "dlt-reason", "dlt-original-topic", "dlt-original-partition", "trace-id"))
                .containsExactly("undecidable", PURCHASES, "0", "bad-" + run);
        assertThat(headers(dead.record(), "dlt-error").get(0))
                .startsWith("org.postgresql.util.PSQLException: ERROR: refusing bad-" + run + " for the test");
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey"))
                .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(keys.stream().filter(k -> !k.startsWith("bad-")).toList());
        assertThat(outcomes().forItem(item)).allMatch(o -> o.topic().equals("order-created"));
        assertThat(ordersOf(item)).isEqualTo(499);
        assertThat(stockOf(item)).isEqualTo(501);
        // Counted once each, when the split batch's transaction committed.
        assertThat(counted("checkout.dead.letters", "reason", "undecidable")).isEqualTo(undecidable + 1);
        assertThat(counted("checkout.decisions", "outcome", "order_created")).isEqualTo(created + 499 + 10);
    }

    /** The purchase path's counters with this tag, summed. */
    private double counted(String name, String tag, String value) {
        return meters.find(name).tags("path", "purchase", tag, value).counters().stream().mapToDouble(Counter::count).sum();
    }

    @Test
    void databaseDownWhileABatchIsSplit_deadLettersNothingBecauseOfItAndDecidesEverythingOnceItReturns() {
        UUID item = newItem(1_000);
        String run = UUID.randomUUID().toString();
        List<String> keys = fiveHundredKeys(run);

        try (HeldAdvisoryLock held = heldInTheMiddleOfASplit(item, keys)) {
            database.cut();
        }
        // The held call ends on a cut connection, and nothing can be decided while the database is away:
        // all of that is transient, so nothing may be dead-lettered for it.
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> deadLetters(run).isEmpty());
        database.restore();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(outcomes().forItem(item)).hasSize(499);
            assertThat(deadLetters(run)).hasSize(1);
        });
        assertThat(deadLetters(run)).map(o -> new String(o.record().headers().lastHeader("trace-id").value(), StandardCharsets.UTF_8))
                .containsExactly("bad-" + run);
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(jdbc.sql("select count(*) from purchase_decisions where item_id = :item")
                .param("item", item).query(Integer.class).single()).isEqualTo(499);
        assertThat(stockOf(item)).isEqualTo(501);
    }

    @Test
    void aRefundFailingInTheDatabaseEveryTime_isDeadLetteredAsUndecidable_theOthersDecided() {
        UUID item = newItem(20);
        String run = UUID.randomUUID().toString();
        List<UUID> orders = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            UUID order = newOrder(item, 1);
            orders.add(order);
            String key = i == 10 ? "bad-" + run : "refund-" + run + "-" + i;
            send(new ProducerRecord<>(REFUNDS, 0, order.toString(),
                    refundJson(key, order, 1, "customer_return").getBytes(StandardCharsets.UTF_8)));
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(outcomes().forItem(item, "order-refunded")).hasSize(19);
            assertThat(outcomes().deadLetters()).filteredOn(o -> o.record().value().contains("bad-" + run)).hasSize(1);
        });
        Outcome dead = outcomes().deadLetters().stream().filter(o -> o.record().value().contains("bad-" + run)).findFirst().orElseThrow();
        assertThat(dead.topic()).isEqualTo("refund-requests.DLT");
        assertThat(headers(dead.record(), "dlt-reason", "dlt-original-topic")).containsExactly("undecidable", REFUNDS);
        assertThat(headers(dead.record(), "dlt-error").get(0)).contains("refusing bad-" + run + " for the test");
        assertThat(refundedOf(orders.get(10))).isZero();
        assertThat(stockOf(item)).isEqualTo(19);
    }

    /** 500 keys; the 251st fails in the database every time and the 252nd waits on the test's lock. */
    private static List<String> fiveHundredKeys(String run) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            keys.add(i == 250 ? "bad-" + run : i == 251 ? "wait-" + run : "ok-" + run + "-" + i);
        }
        return keys;
    }

    /**
     * Sends the requests on partition 0 while its listener is stopped, so that they arrive as one batch,
     * then starts the listener and returns once the "wait" key's insert waits on the test's lock: the
     * batch has failed, and is being split.
     */
    private HeldAdvisoryLock heldInTheMiddleOfASplit(UUID item, List<String> keys) {
        MessageListenerContainer container = listeners.getListenerContainer("purchase-requests");
        // Paused, not stopped: the consumers keep their partitions, one each, so that the held batch holds back no
        // other partition (a stopped consumer leaves its group, and the first to rejoin could take them all).
        container.pause();
        await().atMost(Duration.ofSeconds(30)).until(container::isContainerPaused);
        for (String key : keys) {
            var record = new ProducerRecord<>(PURCHASES, 0, item.toString(), json(key, userOf(key), item, 1).getBytes(StandardCharsets.UTF_8));
            record.headers().add("trace-id", key.getBytes(StandardCharsets.UTF_8));
            send(record);
        }
        producer().flush();
        HeldAdvisoryLock held = HeldAdvisoryLock.take(LOCK);
        container.resume();
        await().atMost(Duration.ofSeconds(60)).until(held::somebodyWaits);
        return held;
    }

    /** The same user for the same key, so the dead letter's bytes can be compared. */
    private static UUID userOf(String key) {
        return UUID.nameUUIDFromBytes(key.getBytes(StandardCharsets.UTF_8));
    }

    private static List<Outcome> deadLetters(String run) {
        return outcomes().deadLetters().stream().filter(o -> o.record().value().contains(run)).toList();
    }
}
