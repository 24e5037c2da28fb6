package io.github.checkout.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Base of every integration test: the shared infrastructure, a plain producer, the outcome collector
 * and SQL. After each test the whole database must pass the audit.
 */
// Ports of its own (0) should a test start a web server: it must not clash with another test's, nor a running service.
// The hold sweep of every cached test context would sweep the one shared database, every second, beside the tests
// that place and end holds themselves: it runs once at start and then hourly. The tests of the service's own sweep
// set it back to a second, and close their context when done (@DirtiesContext).
@SpringBootTest(properties = {"checkout.demo.enabled=false", "server.port=0", "management.server.port=0",
        "checkout.holds.sweep-interval=PT1H"})
public abstract class IntegrationTestSupport {

    protected static final String REQUESTS = "purchase-requests";
    protected static final String REFUNDS = "refund-requests";

    private static KafkaProducer<String, byte[]> producer;
    /** Failed sends, reported by the test that made them: a callback that threw would kill the producer's thread. */
    private static final Queue<Exception> SEND_ERRORS = new ConcurrentLinkedQueue<>();

    @Autowired
    protected JdbcClient jdbc;
    private final List<String> triggers = new ArrayList<>();
    private boolean stockBlocked;

    @DynamicPropertySource
    static void infrastructure(DynamicPropertyRegistry registry) {
        TestInfrastructure.register(registry);
    }

    protected static synchronized KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            // One request in flight: a test sends right after its context created the topic, and an
            // idempotent producer whose first batch to a partition is retried (leader not yet elected)
            // while later batches got through can fail for good with OUT_OF_ORDER_SEQUENCE_NUMBER.
            producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                    ProducerConfig.LINGER_MS_CONFIG, 0,
                    ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1),
                    new StringSerializer(), new ByteArraySerializer());
        }
        return producer;
    }

    @AfterAll
    static void flushProducer() {
        if (producer != null) {
            producer.flush();
        }
    }

    @AfterEach
    void everyRequestWasSent() {
        List<Exception> errors = new ArrayList<>();
        for (Exception error; (error = SEND_ERRORS.poll()) != null; ) {
            errors.add(error);
        }
        assertThat(errors).isEmpty();
    }

    @AfterEach
    void theDatabasePassesTheAudit() {
        assertThat(auditViolations()).isEmpty();
    }

    /** audit_violations() as "check: detail" lines; empty when every invariant holds. */
    protected List<String> auditViolations() {
        return jdbc.sql("select check_name || ': ' || detail from audit_violations()").query(String.class).list();
    }

    /**
     * Flyway for a schema of its own that runs the versioned migrations up to {@code version} only, as a
     * release of that version left a database: the repeatable migrations, which define today's functions,
     * triggers and views and run after every versioned one, are left out.
     */
    protected static Flyway versionedMigrationsUpTo(DataSource dataSource, String schema, String version) {
        return Flyway.configure().dataSource(dataSource).schemas(schema).target(version)
                .repeatableSqlMigrationPrefix("not-repeatable-").placeholders(serviceRole()).load();
    }

    /** Flyway for a schema of its own with every migration, as the service runs them. */
    protected static Flyway allMigrations(DataSource dataSource, String schema) {
        return Flyway.configure().dataSource(dataSource).schemas(schema).cleanDisabled(false)
                .placeholders(serviceRole()).load();
    }

    /** The role the migrations grant the service's functions to (afterMigrate.sql): here the one that migrates. */
    private static Map<String, String> serviceRole() {
        return Map.of("service_role", (String) TestInfrastructure.springProperties().get("spring.datasource.username"));
    }

    /** Points the session's search_path at one schema: a migration test's own, beside the shared one. */
    protected static void useSchema(JdbcClient db, String schema) {
        db.sql("select set_config('search_path', :schema, false)").param("schema", schema).query().singleValue();
    }

    protected static OutcomeCollector outcomes() {
        return OutcomeCollector.shared();
    }

    /** PostgreSQL's count of deadlocks it detected and broke in this database, since it started. */
    protected long deadlocks() {
        return jdbc.sql("select deadlocks from pg_stat_database where datname = current_database()")
                .query(Long.class).single();
    }

    /** The one outcome of a request, once it is there (within 30 s). */
    protected static OutcomeCollector.Outcome only(String key) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forRequest(key)).hasSize(1));
        return outcomes().forRequest(key).get(0);
    }

    /** An event's lines, each as "item quantity remainingStock". */
    protected static List<String> lines(JsonNode event) {
        List<String> lines = new ArrayList<>();
        for (JsonNode l : event.get("lines")) {
            lines.add(l.get("itemId").asString() + " " + l.get("quantity").asInt() + " " + l.get("remainingStock").asInt());
        }
        return lines;
    }

    /** The orders with a line of the item. */
    protected List<UUID> ordersWith(UUID item) {
        return jdbc.sql("select distinct order_id from order_lines where item_id = :item").param("item", item)
                .query(UUID.class).list();
    }

    protected UUID newItem(int stock) {
        UUID item = UUID.randomUUID();
        jdbc.sql("insert into items (id, name, stock) values (:id, :name, :stock)")
                .param("id", item).param("name", "item " + item).param("stock", stock).update();
        return item;
    }

    protected int stockOf(UUID item) {
        return jdbc.sql("select stock from items where id = :id").param("id", item).query(Integer.class).single();
    }

    protected int ordersOf(UUID item) {
        return jdbc.sql("select count(*) from orders where item_id = :id").param("id", item).query(Integer.class).single();
    }

    /**
     * After a crash, a freeze or a stop: each of the {@code requests} requests whose keys start with {@code prefix}
     * got exactly one outcome and one stored decision, and each item's stock is its initial stock less its
     * orders, each announced once on an order-created topic.
     */
    protected void assertEachDecidedOnceAndStockConserved(List<ServiceProcess.Seen> seen, String prefix, int requests,
                                                          Map<UUID, Integer> initialStock) {
        Map<String, Long> outcomesPerKey = seen.stream()
                .collect(Collectors.groupingBy(ServiceProcess.Seen::idempotencyKey, Collectors.counting()));
        assertThat(outcomesPerKey).hasSize(requests).allSatisfy((key, count) -> assertThat(count).as(key).isOne());
        assertThat(jdbc.sql("select count(*) from purchase_decisions where idempotency_key like :prefix")
                .param("prefix", prefix + "-%").query(Integer.class).single()).isEqualTo(requests);
        Map<String, Long> createdPerItem = seen.stream().filter(s -> s.topic().endsWith("-order-created"))
                .collect(Collectors.groupingBy(ServiceProcess.Seen::itemId, Collectors.counting()));
        initialStock.forEach((item, stock) -> {
            int sold = ordersOf(item);
            assertThat(stockOf(item)).as("stock of %s", item).isEqualTo(stock - sold);
            assertThat(createdPerItem.getOrDefault(item.toString(), 0L)).as("orders of %s", item).isEqualTo(sold);
        });
    }

    /**
     * A trigger on both decision tables, dropped after the test: a key matching {@code refused} (a LIKE pattern) is
     * refused with an error, as a bug would refuse it, on every try; a key matching {@code held} waits while the
     * advisory lock {@code lock} is held exclusively.
     */
    protected void refuseAndHoldKeys(String name, String refused, String held, long lock) {
        jdbc.sql("""
                create or replace function %s() returns trigger language plpgsql as $$
                begin
                    if new.idempotency_key like '%s' then
                        raise exception 'refusing %% for the test', new.idempotency_key;
                    end if;
                    if new.idempotency_key like '%s' then
                        perform pg_advisory_xact_lock_shared(%d);
                    end if;
                    return new;
                end;
                $$""".formatted(name, refused, held, lock)).update();
        for (String table : List.of("purchase_decisions", "refund_decisions")) {
            jdbc.sql("create or replace trigger " + name + " before insert on " + table
                    + " for each row execute function " + name + "()").update();
        }
        triggers.add(name);
    }

    @AfterEach
    void dropTriggers() {
        triggers.forEach(name -> jdbc.sql("drop function " + name + "() cascade").update());
        triggers.clear();
    }

    /**
     * Every change of the item's stock, a sale or a refund, fails with serialization_failure: a failure that is
     * retried without end, because it says nothing against the request. The error says "{@code holder} holds the
     * stock of item ...". Until {@link #unblockStockChanges()}, or the end of the test.
     */
    protected void blockStockChanges(String holder, UUID item) {
        stockBlocked = true;
        jdbc.sql("create table test_stock_blocked (item_id uuid primary key)").update();
        jdbc.sql("insert into test_stock_blocked (item_id) values (:item)").param("item", item).update();
        jdbc.sql("""
                create function test_stock_block() returns trigger language plpgsql as $$
                begin
                    if exists (select 1 from test_stock_blocked where item_id = new.id) then
                        raise exception '%s holds the stock of item %%', new.id using errcode = 'serialization_failure';
                    end if;
                    return new;
                end
                $$""".formatted(holder)).update();
        jdbc.sql("create trigger test_stock_block before update on items for each row execute function test_stock_block()").update();
    }

    @AfterEach
    protected void unblockStockChanges() {
        if (!stockBlocked) {
            return;
        }
        stockBlocked = false;
        jdbc.sql("drop trigger if exists test_stock_block on items").update();
        jdbc.sql("drop function if exists test_stock_block()").update();
        jdbc.sql("drop table if exists test_stock_blocked").update();
    }

    /** Buys {@code quantity} units of the item straight through place_order, without Kafka; returns the order id. */
    protected UUID newOrder(UUID item, int quantity) {
        return jdbc.sql("select order_id from place_order(:key, :user, :item, :quantity)")
                .param("key", "order-" + UUID.randomUUID()).param("user", UUID.randomUUID())
                .param("item", item).param("quantity", quantity)
                .query(UUID.class).optional()
                .orElseThrow(() -> new IllegalStateException("item " + item + " has less than " + quantity + " in stock"));
    }

    /** The units of the order refunded so far. */
    protected int refundedOf(UUID order) {
        return jdbc.sql("select refunded_quantity from orders where id = :id").param("id", order).query(Integer.class).single();
    }

    /** Sends a refund request keyed by order id, as producers should; a null quantity is left out (everything left). */
    protected static void refund(String key, UUID order, Integer quantity, String reason) {
        send(new ProducerRecord<>(REFUNDS, order.toString(),
                refundJson(key, order, quantity, reason).getBytes(StandardCharsets.UTF_8)));
    }

    protected static String refundJson(String key, UUID order, Integer quantity, String reason) {
        String optionalQuantity = quantity == null ? "" : ",\"quantity\":" + quantity;
        return "{\"idempotencyKey\":\"%s\",\"orderId\":\"%s\"%s,\"reason\":\"%s\"}"
                .formatted(key, order, optionalQuantity, reason);
    }

    /** Sends a request keyed by item id, as producers should. */
    protected static void request(String key, UUID user, UUID item, int quantity) {
        send(item.toString(), json(key, user, item, quantity));
    }

    protected static void send(String key, String value) {
        send(new ProducerRecord<>(REQUESTS, key, value.getBytes(StandardCharsets.UTF_8)));
    }

    protected static void send(ProducerRecord<String, byte[]> record) {
        producer().send(record, (metadata, error) -> {
            if (error != null) {
                SEND_ERRORS.add(error);
            }
        });
    }

    /**
     * One step of a paced stream of purchase requests, for a scheduled executor: request i, keyed
     * {@code <prefix>-<i>}, buys one of {@code items[i % n]} on partition {@code i % partitions}; nothing
     * once {@code stop} is set or {@code max} were sent. {@code sent} counts them.
     */
    protected static Runnable pacedRequests(String topic, String prefix, List<UUID> items, int partitions, int max,
                                            AtomicInteger sent, AtomicBoolean stop) {
        return () -> {
            if (stop.get() || sent.get() >= max) {
                return;
            }
            int i = sent.getAndIncrement();
            UUID item = items.get(i % items.size());
            send(new ProducerRecord<>(topic, i % partitions, item.toString(),
                    json(prefix + "-" + i, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
        };
    }

    protected static String json(String key, UUID user, UUID item, int quantity) {
        return """
                {"idempotencyKey":"%s","userId":"%s","itemId":"%s","quantity":%d}""".formatted(key, user, item, quantity);
    }
}
