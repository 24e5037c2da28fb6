package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.AfterPublish;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.KafkaBrokerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.json.JsonMapper;

/**
 * The service's Kafka broker is killed with SIGKILL in the middle of a steady stream of requests, stays
 * down for some seconds and is started again on the same log directory and port. The service, never
 * restarted, must recover by itself and decide every request exactly once: one stored decision and one
 * outcome visible to a read_committed consumer per idempotency key, and one order per unit of stock taken.
 *
 * <p>The broker is one of its own, in a child JVM ({@link KafkaBrokerProcess}): the shared broker runs
 * inside the test JVM and cannot be killed hard. Every Kafka client of the service points at it, so its
 * topics and consumer groups are its own; the database is the shared one.
 */
// The context closes after the test method, so while this broker still runs: closed after a dead broker,
// its consumers and transactional producers would each wait out their close timeouts.
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_EACH_TEST_METHOD)
// The service's producer gives up on a send or a transaction step after 2 to 3 s instead of 60 s, so that
// an outage of some seconds takes the path of a longer one: the batch's Kafka transaction fails and is
// aborted, the batch comes back after the back-off, and its decisions, already in the database, are replayed.
@TestPropertySource(properties = {
        "spring.kafka.producer.properties.max.block.ms=2000",
        "spring.kafka.producer.properties.request.timeout.ms=2000",
        "spring.kafka.producer.properties.delivery.timeout.ms=3000"})
class BrokerRestartIT extends IntegrationTestSupport {

    private static final int ITEMS = 4;
    private static final int STOCK = 100;
    /** One request every so often, before, during and after the outage. */
    private static final Duration SEND_INTERVAL = Duration.ofMillis(20);
    /** Requests sent after the broker is back, before the stream ends. */
    private static final int SENT_AFTER_RESTART = 200;
    private static final int MAX_REQUESTS = 3000;
    private static final Duration DOWN_FOR = Duration.ofSeconds(5);
    /** How long after the broker is back every request sent must have been decided. */
    private static final Duration RECOVERY = Duration.ofSeconds(30);
    private static final List<String> OUTCOME_TOPICS = List.of("order-created", "out-of-stock", "purchase-rejected");

    private static KafkaBrokerProcess broker;
    private static final AtomicBoolean KILL = new AtomicBoolean();
    private static final CountDownLatch KILLED = new CountDownLatch(1);

    @Autowired
    private KafkaListenerEndpointRegistry listeners;

    /** Every Kafka client of the service, its admin included, talks to this test's broker. */
    @TestConfiguration
    static class OwnBroker {

        @Bean
        KafkaConnectionDetails ownBrokerConnection() {
            String bootstrapServers = broker().bootstrapServers();
            return () -> List.of(bootstrapServers);
        }

        /**
         * Once asked to, kills the broker from inside a batch's Kafka transaction, after its outcomes were
         * written to the broker and before its offsets and its commit: the transaction is open on the broker
         * when it dies, whatever the timing of the stream.
         */
        @Bean
        static BeanPostProcessor killBrokerMidTransaction(ObjectProvider<KafkaTemplate<byte[], byte[]>> kafka) {
            return AfterPublish.inject(() -> {
                if (KILL.compareAndSet(true, false)) {
                    kafka.getObject().flush();
                    broker().kill();
                    KILLED.countDown();
                }
            });
        }
    }

    private static synchronized KafkaBrokerProcess broker() {
        if (broker == null) {
            broker = KafkaBrokerProcess.start();
        }
        return broker;
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void brokerKilledHardAndRestartedMidStream_everyRequestDecidedExactlyOnce() throws Exception {
        List<UUID> items = new ArrayList<>();
        for (int i = 0; i < ITEMS; i++) {
            items.add(newItem(STOCK));
        }
        ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
        try (var outcomes = new Outcomes(broker().bootstrapServers());
             var stream = new RequestStream(broker().bootstrapServers(), items)) {
            sender.scheduleAtFixedRate(stream::sendNext, 0, SEND_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);

            // Mid-stream, and in the middle of a Kafka transaction.
            await().atMost(Duration.ofSeconds(60)).until(() -> outcomes.count() >= 100);
            KILL.set(true);
            assertThat(KILLED.await(60, TimeUnit.SECONDS)).as("the broker was killed").isTrue();
            long killed = System.nanoTime();
            int decidedBeforeKill = outcomes.count();
            int sentBeforeKill = stream.sent().size();
            Thread.sleep(DOWN_FOR.toMillis()); // the outage itself: requests keep coming meanwhile
            broker.restart();
            long restarted = System.nanoTime();
            int sentBeforeRestart = stream.sent().size();
            await().atMost(Duration.ofSeconds(60)).until(() -> stream.sent().size() >= sentBeforeRestart + SENT_AFTER_RESTART);
            sender.shutdown();
            assertThat(sender.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            stream.resendUnacknowledged();
            Set<String> keys = Set.copyOf(stream.sent());

            await().atMost(Duration.ofSeconds(60))
                    .untilAsserted(() -> assertThat(outcomes.keys()).as(broker.logTail()).containsAll(keys));
            Duration recovery = Duration.ofNanos(System.nanoTime() - restarted);
            // Give an aborted transaction's outcomes, were they ever to leak, time to show up.
            int seen = outcomes.count();
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() -> outcomes.count() == seen);
            System.out.printf("Requests %d: %d sent before the kill, %d decided before it, %d sent after the restart;"
                            + " broker down for %d ms; all decided %d ms after the restart; failed sends repeated %d%n",
                    keys.size(), sentBeforeKill, decidedBeforeKill, keys.size() - sentBeforeRestart,
                    (restarted - killed) / 1_000_000, recovery.toMillis(), stream.failedSends());

            // Within seconds, not after the one-minute transaction timeout that frees a transaction whose
            // abort timed out while the broker was down.
            assertThat(recovery).isLessThan(RECOVERY);
            Map<String, Long> outcomesPerKey = outcomes.keys().stream()
                    .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
            assertThat(outcomesPerKey.keySet()).isEqualTo(keys);
            assertThat(outcomesPerKey).allSatisfy((key, count) -> assertThat(count).as(key).isOne());

            List<String> stored = jdbc.sql("select idempotency_key from purchase_decisions where item_id in (:items)")
                    .param("items", items).query(String.class).list();
            assertThat(stored).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(keys);
            int stockTaken = items.stream().mapToInt(item -> STOCK - stockOf(item)).sum();
            int orders = items.stream().mapToInt(this::ordersOf).sum();
            assertThat(orders).isEqualTo(stockTaken).isEqualTo(outcomes.ordersCreated());
            assertThat(auditViolations()).isEmpty();
        } finally {
            sender.shutdownNow();
        }
        // Recovered by itself: the same containers, never stopped or restarted, decided everything.
        assertThat(listeners.getListenerContainers()).isNotEmpty().allMatch(MessageListenerContainer::isRunning);
    }

    /**
     * Purchase requests for the items in turn, one per {@link #sendNext()}, through an idempotent producer
     * whose sends wait out a short outage. A send that fails anyway is repeated by
     * {@link #resendUnacknowledged()}: the idempotency key makes a repeat safe.
     */
    private static final class RequestStream implements AutoCloseable {

        private final KafkaProducer<String, String> producer;
        private final List<UUID> items;
        private final List<ProducerRecord<String, String>> requests = new CopyOnWriteArrayList<>();
        private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        private final AtomicInteger failedSends = new AtomicInteger();

        RequestStream(String bootstrapServers, List<UUID> items) {
            this.items = items;
            producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                    ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                    ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1,
                    ProducerConfig.LINGER_MS_CONFIG, 0,
                    // Long enough to wait out the outage.
                    ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000,
                    ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000),
                    new StringSerializer(), new StringSerializer());
        }

        void sendNext() {
            int n = requests.size();
            if (n >= MAX_REQUESTS) {
                return;
            }
            UUID item = items.get(n % items.size());
            String key = "broker-restart-" + item + "-" + n;
            var request = new ProducerRecord<>("purchase-requests", item.toString(), json(key, UUID.randomUUID(), item, 1));
            requests.add(request);
            send(request, key);
        }

        private void send(ProducerRecord<String, String> request, String key) {
            producer.send(request, (metadata, error) -> {
                if (error == null) {
                    acknowledged.add(key);
                } else {
                    failedSends.incrementAndGet();
                }
            });
        }

        List<String> sent() {
            return requests.stream().map(r -> keyOf(r.value())).toList();
        }

        int failedSends() {
            return failedSends.get();
        }

        void resendUnacknowledged() {
            producer.flush();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                List<ProducerRecord<String, String>> missing = requests.stream()
                        .filter(r -> !acknowledged.contains(keyOf(r.value()))).toList();
                missing.forEach(r -> send(r, keyOf(r.value())));
                producer.flush();
                assertThat(missing).isEmpty();
            });
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(5));
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static String keyOf(String json) {
        return JSON.readTree(json).get("idempotencyKey").asString();
    }

    /**
     * A read_committed consumer of the outcome topics on this test's broker; keeps the idempotency key of
     * each outcome record. A record read again, because the consumer's own committed offset was behind when
     * the broker went down, is the same record and counted once: only a second record is a second outcome.
     */
    private static final class Outcomes implements AutoCloseable {

        private final Map<String, String> keysByRecord = new ConcurrentHashMap<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Outcomes(String bootstrapServers) {
            Map<String, Object> config = Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                    ConsumerConfig.GROUP_ID_CONFIG, "broker-restart-outcomes-" + UUID.randomUUID(),
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                    ConsumerConfig.METADATA_MAX_AGE_CONFIG, 1000);
            thread = new Thread(() -> {
                try (var consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
                    consumer.subscribe(OUTCOME_TOPICS);
                    while (running.get()) {
                        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                            keysByRecord.put(record.topic() + "-" + record.partition() + "@" + record.offset(),
                                    keyOf(record.value()));
                        }
                    }
                }
            }, "broker-restart-outcomes");
            thread.setDaemon(true);
            thread.start();
        }

        int count() {
            return keysByRecord.size();
        }

        List<String> keys() {
            return List.copyOf(keysByRecord.values());
        }

        int ordersCreated() {
            return (int) keysByRecord.keySet().stream().filter(record -> record.startsWith("order-created-")).count();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
        }
    }
}
