package io.github.checkout.reservation;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.TestInfrastructure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the jar tests of holds share: a lane of topics and a database schema of their own. The sweep expires every
 * due hold of its database, so a Spring context of another test still running in this JVM would sweep these holds
 * too and announce them on its own topics; in a schema of their own, only the jars started here see them.
 */
final class JarHolds implements AutoCloseable {

    static final String STARTED = "Started CheckoutApplication";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    final Lane lane;
    final String schema;
    final JdbcClient db;
    private final String jdbcUrl;
    private final KafkaProducer<String, String> producer;
    private final List<AutoCloseable> opened = new ArrayList<>();

    JarHolds(String name, int partitions) throws Exception {
        lane = Lane.random(name, partitions).create();
        schema = lane.prefix().replace('-', '_');
        String url = TestInfrastructure.jdbcUrl();
        jdbcUrl = url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        Map<String, Object> infrastructure = TestInfrastructure.springProperties();
        db = JdbcClient.create(new DriverManagerDataSource(jdbcUrl, (String) infrastructure.get("spring.datasource.username"),
                (String) infrastructure.get("spring.datasource.password")));
        // Created here, so that instances started at once only race for Flyway's lock, not for the schema.
        db.sql("create schema " + schema).update();
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, 5), new StringSerializer(), new StringSerializer());
    }

    /** The lane's name of a topic: {@code reservation-requests}, {@code stock-reserved}, ... */
    String topic(String name) {
        return lane.prefix() + "-" + name;
    }

    /** An instance of the production jar on the lane's topics and groups and in the schema (not started). */
    ServiceProcess instance(String name, String... arguments) throws IOException {
        List<String> all = new ArrayList<>(List.of("--spring.datasource.url=" + jdbcUrl, "--spring.flyway.schemas=" + schema));
        all.addAll(List.of(arguments));
        ServiceProcess process = ServiceProcess.onTestInfrastructure(lane, lane.log(name), all.toArray(String[]::new));
        opened.add(process);
        return process;
    }

    UUID newItem(int stock) {
        UUID item = UUID.randomUUID();
        db.sql("insert into items (id, name, stock) values (:id, :name, :stock)")
                .param("id", item).param("name", "item " + item).param("stock", stock).update();
        return item;
    }

    /** A PurchaseRequested asking to hold one unit for {@code holdFor}, keyed by item as producers should. */
    void placeHold(String key, UUID item, Duration holdFor) {
        producer.send(new ProducerRecord<>(lane.purchaseRequests(), item.toString(), """
                {"idempotencyKey":"%s","userId":"%s","itemId":"%s","quantity":1,"holdFor":"%s"}"""
                .formatted(key, UUID.randomUUID(), item, holdFor)));
    }

    void flush() {
        producer.flush();
    }

    /** A read_committed reader of one of the lane's topics, from its beginning. */
    Reader reader(String name) {
        Reader reader = new Reader(topic(name), lane.partitions());
        opened.add(reader);
        return reader;
    }

    int count(String sql) {
        return db.sql(sql).query(Integer.class).single();
    }

    List<String> auditViolations() {
        return db.sql("select check_name || ': ' || detail from audit_violations()").query(String.class).list();
    }

    /** The event id the contract gives the ReservationExpired of a hold. */
    static String expiredEventId(String reservationId) {
        return UUID.nameUUIDFromBytes(("reservation-expired:" + reservationId).getBytes(StandardCharsets.UTF_8)).toString();
    }

    @Override
    public void close() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
        producer.close(Duration.ofSeconds(5));
        db.sql("drop schema " + schema + " cascade").update();
    }

    /** Every record of a topic that a read_committed consumer sees, its value as JSON, on a daemon thread. */
    static final class Reader implements AutoCloseable {

        private final List<JsonNode> values = new CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile boolean running = true;

        Reader(String topic, int partitions) {
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                    new StringDeserializer(), new StringDeserializer());
            List<TopicPartition> all = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                all.add(new TopicPartition(topic, p));
            }
            consumer.assign(all);
            consumer.seekToBeginning(all);
            thread = new Thread(() -> {
                while (running) {
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(50))) {
                        values.add(JSON.readTree(record.value()));
                    }
                }
                consumer.close();
            }, "reader-" + topic);
            thread.setDaemon(true);
            thread.start();
        }

        List<JsonNode> values() {
            return List.copyOf(values);
        }

        /** The text of {@code field} of every record so far. */
        List<String> texts(String field) {
            return values().stream().map(value -> {
                assertThat(value.has(field)).as("%s has %s", value, field).isTrue();
                return value.get(field).asString();
            }).toList();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(10_000);
        }
    }
}
