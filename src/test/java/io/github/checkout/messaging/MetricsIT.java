package io.github.checkout.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.AfterPublish;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.Prometheus;
import io.github.checkout.support.Prometheus.Scrape;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;
import org.yaml.snakeyaml.Yaml;

/**
 * The service's meters, read from the MeterRegistry and scraped over HTTP from the management port as Prometheus
 * does: every answer and dead letter counted once, by outcome, error code, replay and reason, when its Kafka
 * transaction commits; the timers and histograms recorded; and every metric the Grafana dashboard and the alerts query exported.
 * Topics and consumer groups of its own, so that every request on them is one this test sent.
 */
@DirtiesContext
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "checkout.demo.enabled=false")
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + MetricsIT.PURCHASES,
        "checkout.topics.purchase-requests-dead-letter=" + MetricsIT.PURCHASES + ".DLT",
        "checkout.topics.refund-requests=" + MetricsIT.REFUNDS,
        "checkout.topics.refund-requests-dead-letter=" + MetricsIT.REFUNDS + ".DLT",
        "checkout.groups.purchases=metrics-it",
        "checkout.groups.refunds=metrics-it-refunds"})
class MetricsIT extends IntegrationTestSupport {

    static final String PURCHASES = "metrics-purchase-requests";
    static final String REFUNDS = "metrics-refund-requests";
    /** Set by a test: the next purchase batch's thread, whose Kafka commit then fails once. */
    static final AtomicBoolean failNextCommit = new AtomicBoolean();
    static final AtomicReference<Thread> failCommitOf = new AtomicReference<>();

    @TestConfiguration
    static class CommitFailsOnDemand {

        /** Notes the thread of the next purchase batch once its outcomes were sent. */
        @Bean
        static BeanPostProcessor noteTheBatchWhoseCommitFails() {
            return AfterPublish.inject(() -> {
                if (failNextCommit.compareAndSet(true, false)) {
                    failCommitOf.set(Thread.currentThread());
                }
            });
        }

        /** The commit of that batch's transaction fails, after its listener returned: the transaction aborts. */
        @Bean
        DefaultKafkaProducerFactoryCustomizer failTheNotedCommit() {
            return factory -> factory.addPostProcessor(MetricsIT::failingTheNotedCommit);
        }
    }

    @SuppressWarnings("unchecked")
    private static <K, V> Producer<K, V> failingTheNotedCommit(Producer<K, V> producer) {
        return (Producer<K, V>) Proxy.newProxyInstance(Producer.class.getClassLoader(), new Class<?>[] {Producer.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("commitTransaction") && failCommitOf.compareAndSet(Thread.currentThread(), null)) {
                        throw new KafkaException("injected: the commit of the batch's Kafka transaction failed");
                    }
                    try {
                        return method.invoke(producer, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Autowired
    MeterRegistry registry;

    @LocalManagementPort
    int managementPort;

    @Test
    void everyAnswerAndDeadLetter_isCountedOnceByOutcomeErrorCodeReplayAndReason() {
        Map<String, Double> before = counted();
        Map<String, Double> timingsBefore = timings();
        Scrape scrapedBefore = scrape();
        UUID item = newItem(1);
        UUID user = UUID.randomUUID();
        String key = "metrics-" + item;
        purchase(key + "-1", user, item, 1);                 // order created
        purchase(key + "-2", user, item, 1);                 // out of stock
        purchase(key + "-3", user, UUID.randomUUID(), 1);    // item_not_found
        purchase(key + "-1", user, item, 2);                 // idempotency_key_reused
        purchase(key + "-1", user, item, 1);                 // the first decision, replayed
        send(new ProducerRecord<>(PURCHASES, 0, item.toString(), "not json".getBytes(StandardCharsets.UTF_8)));
        UUID order = newOrder(newItem(2), 2);
        refund(key + "-r1", order, 1);                        // refunded
        refund(key + "-r1", order, 1);                        // replayed
        refund(key + "-r2", UUID.randomUUID(), 1);            // order_not_found
        send(new ProducerRecord<>(REFUNDS, 0, order.toString(),
                ("{\"idempotencyKey\":\"" + key + "-r3\"}").getBytes(StandardCharsets.UTF_8)));
        producer().flush();

        Map<String, Double> expected = Map.of(
                "decisions purchase order_created none false", 1.0,
                "decisions purchase out_of_stock none false", 1.0,
                "decisions purchase rejected item_not_found false", 1.0,
                "decisions purchase rejected idempotency_key_reused false", 1.0,
                "decisions purchase order_created none true", 1.0,
                "decisions refund order_refunded none false", 1.0,
                "decisions refund order_refunded none true", 1.0,
                "decisions refund rejected order_not_found false", 1.0,
                "dead.letters purchase malformed_json", 1.0,
                "dead.letters refund schema_violation", 1.0);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(minus(counted(), before)).isEqualTo(expected));
        // Nothing is counted twice later, by a second commit or a late retry.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> minus(counted(), before).equals(expected));
        assertThat(failCommitOf).hasNullValue();

        // Timers and histograms, per path: one latency per request record, batch sizes adding up to the records.
        Map<String, Double> timed = minus(timings(), timingsBefore);
        for (var path : Map.of("purchase", 6.0, "refund", 4.0).entrySet()) {
            String p = path.getKey();
            double records = path.getValue();
            assertThat(timed.get("latency count " + p)).as(p).isEqualTo(records);
            assertThat(timed.get("batch sum " + p)).as(p).isEqualTo(records);
            assertThat(timed.get("batch count " + p)).as(p).isBetween(1.0, records);
            assertThat(timed.get("commit count " + p)).as("one commit per batch").isEqualTo(timed.get("batch count " + p));
            assertThat(timed.get("commit time " + p)).isPositive();
            assertThat(timed.get("database count " + p)).as("a call per batch with requests").isBetween(1.0, records - 1);
            assertThat(timed.get("database time " + p)).isPositive();
            assertThat(registry.get("checkout.request.latency").tag("path", p).timer().takeSnapshot().histogramCounts())
                    .as("a percentile histogram").hasSizeGreaterThan(10);
        }
        assertThat(registry.get("checkout.database.calls").tag("function", "decide_purchases").timer().count()).isPositive();
        assertThat(registry.get("checkout.database.calls").tag("function", "decide_refunds").timer().count()).isPositive();
        assertThat(registry.get("checkout.partitions.stalled").tag("path", "purchase").gauge().value()).isZero();

        // The same, as Prometheus scrapes it.
        Scrape scraped = scrape();
        assertThat(delta(scraped, scrapedBefore, "checkout_decisions_total",
                Map.of("path", "purchase", "outcome", "order_created", "error_code", "none", "replayed", "false"))).isEqualTo(1);
        assertThat(delta(scraped, scrapedBefore, "checkout_decisions_total",
                Map.of("path", "purchase", "outcome", "order_created", "replayed", "true"))).isEqualTo(1);
        assertThat(delta(scraped, scrapedBefore, "checkout_decisions_total",
                Map.of("path", "purchase", "error_code", "idempotency_key_reused"))).isEqualTo(1);
        assertThat(delta(scraped, scrapedBefore, "checkout_decisions_total", Map.of("path", "purchase"))).isEqualTo(5);
        assertThat(delta(scraped, scrapedBefore, "checkout_decisions_total", Map.of("path", "refund"))).isEqualTo(3);
        assertThat(delta(scraped, scrapedBefore, "checkout_decisions_total",
                Map.of("path", "refund", "outcome", "rejected", "error_code", "order_not_found"))).isEqualTo(1);
        assertThat(delta(scraped, scrapedBefore, "checkout_dead_letters_total",
                Map.of("path", "purchase", "reason", "malformed_json"))).isEqualTo(1);
        assertThat(delta(scraped, scrapedBefore, "checkout_dead_letters_total", Map.of("path", "refund"))).isEqualTo(1);
        assertThat(scraped.count("checkout_dead_letters_total", Map.of("path", "refund", "reason", "undecidable")))
                .as("every reason is there from the start").isEqualTo(1);
        assertThat(delta(scraped, scrapedBefore, "checkout_request_latency_seconds_count", Map.of("path", "purchase"))).isEqualTo(6);
        assertThat(delta(scraped, scrapedBefore, "checkout_request_latency_seconds_bucket", Map.of("path", "purchase", "le", "+Inf")))
                .isEqualTo(6);
        assertThat(scraped.count("checkout_request_latency_seconds_bucket", Map.of("path", "refund"))).isGreaterThan(10);
        assertThat(delta(scraped, scrapedBefore, "checkout_batch_size_sum", Map.of("path", "refund"))).isEqualTo(4);
        assertThat(scraped.count("checkout_batch_size_bucket", Map.of("path", "refund"))).isGreaterThan(5);
        assertThat(delta(scraped, scrapedBefore, "checkout_database_calls_seconds_count", Map.of("function", "decide_purchases")))
                .isPositive();
        assertThat(scraped.count("checkout_database_calls_seconds_bucket", Map.of("function", "decide_refunds"))).isGreaterThan(10);
        assertThat(delta(scraped, scrapedBefore, "checkout_transaction_commit_seconds_count", Map.of("path", "purchase")))
                .isPositive();
        assertThat(scraped.value("checkout_partitions_stalled", Map.of("path", "refund"))).isZero();
        assertThat(scraped.count("checkout_partitions_stalled", Map.of())).as("one per path").isEqualTo(3);
        // Consumer lag, from the Kafka client metrics Spring Boot binds.
        assertThat(scraped.names()).contains("kafka_consumer_fetch_manager_records_lag_max");
    }

    @Test
    void aBatchWhoseKafkaCommitFails_isCountedOnceWhenItCommits_asReplayed() {
        Map<String, Double> before = counted();
        long latencies = registry.get("checkout.request.latency").tag("path", "purchase").timer().count();
        UUID item = newItem(5);
        failNextCommit.set(true);
        purchase("metrics-commit-fails-" + item, UUID.randomUUID(), item, 1);
        producer().flush();

        // The first try decided it, and its commit failed; the try that committed answered from the stored decision.
        Map<String, Double> expected = Map.of("decisions purchase order_created none true", 1.0);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(minus(counted(), before)).isEqualTo(expected));
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> minus(counted(), before).equals(expected));
        assertThat(failNextCommit).isFalse();
        assertThat(failCommitOf).as("the injected failure happened").hasNullValue();
        assertThat(registry.get("checkout.request.latency").tag("path", "purchase").timer().count()).isEqualTo(latencies + 1);
        assertThat(ordersOf(item)).isEqualTo(1);
    }

    @Test
    void everyMetricTheDashboardAndTheAlertsQuery_isOneTheServiceExports() throws IOException {
        // Traffic on both paths: the consumers have fetched and the counters exist.
        UUID item = newItem(1);
        Map<String, Double> before = counted();
        purchase("metrics-dashboard-" + item, UUID.randomUUID(), item, 1);
        refund("metrics-dashboard-r-" + item, UUID.randomUUID(), 1);
        producer().flush();
        await().atMost(Duration.ofSeconds(30)).until(() -> minus(counted(), before).size() == 2);

        Scrape scraped = scrape();
        List<String> problems = new ArrayList<>();
        int names = 0;
        Map<String, List<String>> queries = new LinkedHashMap<>(Prometheus.dashboardQueries(Files.readString(Prometheus.DASHBOARD)));
        queries.putAll(Prometheus.alertQueries(Files.readString(Prometheus.ALERTS)));
        assertThat(queries.keySet()).anyMatch(name -> name.startsWith("alert "));
        for (var panel : queries.entrySet()) {
            for (String query : panel.getValue()) {
                for (String name : Prometheus.metricNames(query)) {
                    names++;
                    String problem = scraped.problemWith(name);
                    if (problem != null) {
                        problems.add(panel.getKey() + ": " + problem);
                    }
                }
            }
        }
        assertThat(names).isGreaterThan(10);
        assertThat(problems).isEmpty();
    }

    /** Scrapes the management port at the path Prometheus is configured to scrape. */
    private Scrape scrape() {
        return Prometheus.scrape("http://localhost:" + managementPort + metricsPath());
    }

    @SuppressWarnings("unchecked")
    private static String metricsPath() {
        try (Reader reader = Files.newBufferedReader(Prometheus.SCRAPE_CONFIG)) {
            Map<String, Object> config = new Yaml().load(reader);
            return (String) ((Map<String, Object>) ((List<Object>) config.get("scrape_configs")).get(0)).get("metrics_path");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double delta(Scrape after, Scrape before, String name, Map<String, String> labels) {
        return after.value(name, labels) - before.value(name, labels);
    }

    /** Every answer and dead-letter counter now, by name and tag values. */
    private Map<String, Double> counted() {
        Map<String, Double> counts = new HashMap<>();
        for (Counter c : registry.find("checkout.decisions").counters()) {
            counts.put(key(c, "decisions", "path", "outcome", "error_code", "replayed"), c.count());
        }
        for (Counter c : registry.find("checkout.dead.letters").counters()) {
            counts.put(key(c, "dead.letters", "path", "reason"), c.count());
        }
        return counts;
    }

    /** Counts and totals of the timers and the batch size summary, by path. */
    private Map<String, Double> timings() {
        Map<String, Double> timings = new HashMap<>();
        for (String path : List.of("purchase", "refund")) {
            Timer latency = registry.get("checkout.request.latency").tag("path", path).timer();
            DistributionSummary batch = registry.get("checkout.batch.size").tag("path", path).summary();
            Timer commit = registry.get("checkout.transaction.commit").tag("path", path).timer();
            Timer database = registry.get("checkout.database.calls").tag("path", path).timer();
            timings.put("latency count " + path, (double) latency.count());
            timings.put("batch count " + path, (double) batch.count());
            timings.put("batch sum " + path, batch.totalAmount());
            timings.put("commit count " + path, (double) commit.count());
            timings.put("commit time " + path, commit.totalTime(TimeUnit.NANOSECONDS));
            timings.put("database count " + path, (double) database.count());
            timings.put("database time " + path, database.totalTime(TimeUnit.NANOSECONDS));
        }
        return timings;
    }

    private static String key(Meter meter, String name, String... tags) {
        StringBuilder key = new StringBuilder(name);
        for (String tag : tags) {
            key.append(' ').append(meter.getId().getTag(tag));
        }
        return key.toString();
    }

    private static Map<String, Double> minus(Map<String, Double> after, Map<String, Double> before) {
        Map<String, Double> delta = new HashMap<>();
        after.forEach((key, count) -> {
            double d = count - before.getOrDefault(key, 0.0);
            if (d != 0) {
                delta.put(key, d);
            }
        });
        return delta;
    }

    private static void purchase(String key, UUID user, UUID item, int quantity) {
        send(new ProducerRecord<>(PURCHASES, 0, item.toString(), json(key, user, item, quantity).getBytes(StandardCharsets.UTF_8)));
    }

    private static void refund(String key, UUID order, int quantity) {
        send(new ProducerRecord<>(REFUNDS, 0, order.toString(),
                refundJson(key, order, quantity, "customer_return").getBytes(StandardCharsets.UTF_8)));
    }
}
