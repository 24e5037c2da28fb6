package io.github.checkout.support;

import io.github.checkout.embedded.EmbeddedInfrastructure;
import java.util.Map;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The one real Kafka broker and PostgreSQL server every integration test uses, started once per test
 * JVM: Testcontainers where a Docker engine answers, the embedded broker and embedded PostgreSQL
 * otherwise. No mock stands in for either.
 */
public final class TestInfrastructure {

    private static Map<String, Object> properties;

    private TestInfrastructure() {
    }

    public static synchronized Map<String, Object> springProperties() {
        if (properties == null) {
            properties = DockerClientFactory.instance().isDockerAvailable() ? containers() : embedded();
        }
        return properties;
    }

    public static void register(DynamicPropertyRegistry registry) {
        springProperties().forEach((name, value) -> registry.add(name, () -> value));
    }

    public static String bootstrapServers() {
        return (String) springProperties().get("spring.kafka.bootstrap-servers");
    }

    public static String jdbcUrl() {
        return (String) springProperties().get("spring.datasource.url");
    }

    private static Map<String, Object> embedded() {
        EmbeddedInfrastructure infrastructure = EmbeddedInfrastructure.start();
        Runtime.getRuntime().addShutdownHook(new Thread(infrastructure::close));
        return infrastructure.springProperties();
    }

    @SuppressWarnings("resource")
    private static Map<String, Object> containers() {
        var kafka = new KafkaContainer("apache/kafka:4.1.1");
        var postgres = new PostgreSQLContainer("postgres:17-alpine");
        kafka.start();
        postgres.start();
        return Map.of(
                "spring.kafka.bootstrap-servers", kafka.getBootstrapServers(),
                "spring.datasource.url", postgres.getJdbcUrl(),
                "spring.datasource.username", postgres.getUsername(),
                "spring.datasource.password", postgres.getPassword());
    }
}
