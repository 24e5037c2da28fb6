package io.github.checkout.bench;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import io.github.checkout.CheckoutApplication;
import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.purchase.OrderCreated;
import io.github.checkout.purchase.kafka.PurchaseRequestReader;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;
import org.springframework.kafka.listener.MessageListenerContainer;
import tools.jackson.databind.json.JsonMapper;

import static org.awaitility.Awaitility.await;

/**
 * The service, started in this JVM exactly as it runs in production but on topics and consumer groups of
 * its own, so that two instances, at once or one after the other, share nothing but the database and
 * {@link #EXPIRIES_TOPIC}.
 */
final class ServiceUnderTest implements AutoCloseable {

    /**
     * Where every instance announces expired holds. Each instance's sweep expires the due holds of the whole
     * database, another instance's too, and announces them through its own listener: the topic is shared so that
     * a run sees its holds' expiries whichever instance swept them.
     */
    static final String EXPIRIES_TOPIC = "bench.reservation-expired";

    /** Expired holds per sweep in the tuned instance: the most the setting allows, so that the sweep keeps up. */
    static final int SWEEP_BATCH = 10_000;

    /** What may be tuned; nothing here weakens a guarantee. */
    record Tuning(int maxRecords, int concurrency, int partitions, int poolSize) {

        Tuning unbatched() {
            return new Tuning(1, concurrency, partitions, poolSize);
        }
    }

    private final ConfigurableApplicationContext context;
    private final String name;
    private final Tuning tuning;

    private ServiceUnderTest(ConfigurableApplicationContext context, String name, Tuning tuning) {
        this.context = context;
        this.name = name;
        this.tuning = tuning;
    }

    /**
     * Starts an instance on its own topics and group. With a {@code tuning} those settings are set, and must take
     * effect; without one nothing is set but the connection, as an unconfigured service runs.
     */
    static ServiceUnderTest start(String name, Map<String, Object> infrastructure, Tuning tuning) {
        Map<String, Object> properties = new HashMap<>(infrastructure);
        properties.put("checkout.demo.enabled", "false");
        if (tuning != null) {
            properties.put("checkout.batch.max-records", tuning.maxRecords());
            properties.put("checkout.concurrency", tuning.concurrency());
            properties.put("checkout.topics.partitions", tuning.partitions());
            properties.put("spring.datasource.hikari.maximum-pool-size", tuning.poolSize());
            properties.put("checkout.holds.sweep-batch", SWEEP_BATCH);
        }
        properties.put("checkout.topics.purchase-requests", name + ".purchase-requests");
        properties.put("checkout.topics.purchase-requests-dead-letter", name + ".purchase-requests.DLT");
        properties.put("checkout.topics.order-created", name + ".order-created");
        properties.put("checkout.topics.out-of-stock", name + ".out-of-stock");
        properties.put("checkout.topics.purchase-rejected", name + ".purchase-rejected");
        properties.put("checkout.topics.refund-requests", name + ".refund-requests");
        properties.put("checkout.topics.refund-requests-dead-letter", name + ".refund-requests.DLT");
        properties.put("checkout.topics.order-refunded", name + ".order-refunded");
        properties.put("checkout.topics.refund-rejected", name + ".refund-rejected");
        properties.put("checkout.topics.reservation-requests", name + ".reservation-requests");
        properties.put("checkout.topics.reservation-requests-dead-letter", name + ".reservation-requests.DLT");
        properties.put("checkout.topics.stock-reserved", name + ".stock-reserved");
        properties.put("checkout.topics.reservation-released", name + ".reservation-released");
        properties.put("checkout.topics.reservation-extended", name + ".reservation-extended");
        properties.put("checkout.topics.reservation-expired", EXPIRIES_TOPIC);
        properties.put("checkout.topics.reservation-rejected", name + ".reservation-rejected");
        properties.put("checkout.groups.purchases", name);
        properties.put("checkout.groups.reservations", name + ".reservations");
        // Client ids of their own: two instances at once would otherwise register their producers' metrics under
        // the same JMX names, and one would hide the other's from the per-batch figures.
        properties.put("spring.kafka.client-id", name);
        properties.put("checkout.groups.refunds", name + ".refunds");
        // No web server (WebApplicationType.NONE below); should one start, on ports of its own, as two instances run at once.
        properties.put("server.port", 0);
        properties.put("management.server.port", 0);
        properties.put("spring.main.banner-mode", "off");
        properties.put("spring.main.log-startup-info", "false");
        properties.put("logging.level.root", "warn");
        properties.put("logging.level.org.apache.kafka", "error");
        properties.put("logging.level.kafka", "error");
        // As arguments: default properties would lose to application.yml (its Hikari pool size, for one).
        ConfigurableApplicationContext context = new SpringApplicationBuilder(CheckoutApplication.class)
                .web(WebApplicationType.NONE)
                .run(properties.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new));
        var service = new ServiceUnderTest(context, name, effective(context, name + ".purchase-requests"));
        // Baseline (b) means nothing unless the listener's consumers really take one record at a time.
        if (tuning != null && !tuning.equals(service.tuning)) {
            service.close();
            throw new IllegalStateException("the settings " + tuning + " did not all take effect: " + service.tuning);
        }
        service.awaitAssignment();
        return service;
    }

    /** The settings the instance runs with, read from its request listener's consumers, its settings and its pool. */
    private static Tuning effective(ConfigurableApplicationContext context, String requestTopic) {
        var container = (ConcurrentMessageListenerContainer<?, ?>) requestListener(context, requestTopic);
        String maxPollRecords = container.getContainerProperties().getKafkaConsumerProperties().getProperty("max.poll.records");
        return new Tuning(maxPollRecords == null ? -1 : Integer.parseInt(maxPollRecords), container.getConcurrency(),
                context.getBean(CheckoutProperties.class).topics().partitions(),
                context.getBean(HikariDataSource.class).getMaximumPoolSize());
    }

    private static MessageListenerContainer requestListener(ConfigurableApplicationContext context, String requestTopic) {
        return context.getBean(KafkaListenerEndpointRegistry.class).getListenerContainers().stream()
                .filter(c -> Arrays.asList(c.getContainerProperties().getTopics()).contains(requestTopic))
                .findFirst().orElseThrow(() -> new IllegalStateException("no listener reads " + requestTopic));
    }

    String requestTopic() {
        return name + ".purchase-requests";
    }

    String reservationRequestTopic() {
        return name + ".reservation-requests";
    }

    /** The outcome topics, each with the outcome it carries; with {@code holds}, the holds' outcomes too. */
    Map<String, Observed.Kind> outcomeTopics(boolean holds) {
        Map<String, Observed.Kind> topics = new LinkedHashMap<>();
        topics.put(name + ".order-created", Observed.Kind.ORDER_CREATED);
        topics.put(name + ".out-of-stock", Observed.Kind.OUT_OF_STOCK);
        topics.put(name + ".purchase-rejected", Observed.Kind.REJECTED);
        if (holds) {
            topics.put(name + ".stock-reserved", Observed.Kind.STOCK_RESERVED);
            topics.put(name + ".reservation-rejected", Observed.Kind.RESERVATION_REJECTED);
            topics.put(EXPIRIES_TOPIC, Observed.Kind.RESERVATION_EXPIRED);
        }
        return topics;
    }

    /** The settings it runs with: the ones it was started with, or its defaults as resolved on this machine. */
    Tuning tuning() {
        return tuning;
    }

    /** Until the request listeners own every request partition, so that no run measures a rebalance. */
    private void awaitAssignment() {
        for (String topic : List.of(requestTopic(), reservationRequestTopic())) {
            MessageListenerContainer listener = requestListener(context, topic);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() ->
                    listener.getAssignedPartitions() != null && listener.getAssignedPartitions().size() >= tuning.partitions());
        }
    }

    /**
     * Makes every pooled connection publish its transaction counts now rather than up to ten seconds later:
     * holds all of them at once and asks each for {@code pg_stat_force_next_flush()}.
     */
    void flushDatabaseStatistics() {
        HikariDataSource dataSource = context.getBean(HikariDataSource.class);
        HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
        if (pool == null) {
            return;
        }
        int total = pool.getTotalConnections();
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < total; i++) {
                held.add(dataSource.getConnection());
            }
            for (Connection connection : held) {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("select pg_stat_force_next_flush()");
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not flush the statistics of the service's connections", e);
        } finally {
            for (Connection connection : held) {
                try {
                    connection.close();
                } catch (SQLException ignored) {
                    // returned to the pool or gone; either way not ours any more
                }
            }
        }
    }

    /**
     * Microseconds the service's own beans spend per request on this machine, outside any run: reading one
     * request (JSON parse and schema validation) and writing one outcome as JSON. Single-threaded, after a warm-up.
     */
    record JvmCosts(double readMicros, double writeMicros) {
    }

    JvmCosts jvmCosts(Workload sample) {
        PurchaseRequestReader reader = context.getBean(PurchaseRequestReader.class);
        JsonMapper json = context.getBean(JsonMapper.class);
        int n = Math.min(sample.deliveries(), 1_000);
        byte[][] requests = new byte[n][];
        OrderCreated[] outcomes = new OrderCreated[n];
        for (int d = 0; d < n; d++) {
            requests[d] = sample.json(d);
            int key = sample.keyOf(d);
            outcomes[d] = new OrderCreated(UUID.randomUUID(), sample.key(key), UUID.randomUUID(), sample.user(key),
                    sample.item(key), 1, 41, Instant.now());
        }
        int rounds = 30;
        long sink = 0;
        long readNanos = 0;
        long writeNanos = 0;
        for (int round = 0; round < rounds; round++) {
            long t0 = System.nanoTime();
            for (byte[] request : requests) {
                sink += reader.read(request).hashCode();
            }
            long t1 = System.nanoTime();
            for (OrderCreated outcome : outcomes) {
                sink += json.writeValueAsBytes(outcome).length;
            }
            long t2 = System.nanoTime();
            // The first half of the rounds warms up the JIT.
            if (round >= rounds / 2) {
                readNanos += t1 - t0;
                writeNanos += t2 - t1;
            }
        }
        double calls = (double) n * (rounds - rounds / 2);
        return sink == 42 ? new JvmCosts(0, 0) : new JvmCosts(readNanos / calls / 1e3, writeNanos / calls / 1e3);
    }

    @Override
    public void close() {
        context.close();
    }
}
