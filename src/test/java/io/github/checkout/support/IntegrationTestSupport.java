package io.github.checkout.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Base of every integration test: the shared infrastructure, a plain producer, the outcome collector and SQL. */
@IntegrationTest
public abstract class IntegrationTestSupport {

    protected static final String REQUESTS = "purchase-requests";

    private static KafkaProducer<String, byte[]> producer;

    @Autowired
    protected JdbcClient jdbc;

    @DynamicPropertySource
    static void infrastructure(DynamicPropertyRegistry registry) {
        TestInfrastructure.register(registry);
    }

    protected static synchronized KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                    ProducerConfig.LINGER_MS_CONFIG, 0),
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

    protected static OutcomeCollector outcomes() {
        return OutcomeCollector.shared();
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

    /** Sends a request keyed by item id, as producers should. */
    protected static void request(String key, UUID user, UUID item, int quantity) {
        send(item.toString(), json(key, user, item, quantity));
    }

    protected static void send(String key, String value) {
        send(new ProducerRecord<>(REQUESTS, key, value.getBytes(StandardCharsets.UTF_8)));
    }

    protected static void send(ProducerRecord<String, byte[]> record) {
        producer().send(record, (metadata, error) -> assertThat(error).isNull());
    }

    protected static String json(String key, UUID user, UUID item, int quantity) {
        return """
                {"idempotencyKey":"%s","userId":"%s","itemId":"%s","quantity":%d}""".formatted(key, user, item, quantity);
    }
}
