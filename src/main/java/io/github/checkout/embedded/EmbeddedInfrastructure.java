package io.github.checkout.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.boot.context.event.SpringApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * A real Kafka broker (KRaft, in this JVM) and a real PostgreSQL server (embedded binaries, a child
 * process), on free local ports. Used by the application when neither Kafka nor a datasource is
 * configured, and by the tests when no Docker engine is available.
 */
public final class EmbeddedInfrastructure implements AutoCloseable {

    private final EmbeddedKafkaKraftBroker kafka;
    private final EmbeddedPostgres postgres;

    private EmbeddedInfrastructure(EmbeddedKafkaKraftBroker kafka, EmbeddedPostgres postgres) {
        this.kafka = kafka;
        this.postgres = postgres;
    }

    public static EmbeddedInfrastructure start() {
        EmbeddedKafkaKraftBroker kafka = new EmbeddedKafkaKraftBroker(1, 1);
        kafka.brokerProperties(Map.of(
                "transaction.state.log.replication.factor", "1",
                "transaction.state.log.min.isr", "1",
                "offsets.topic.replication.factor", "1",
                "group.initial.rebalance.delay.ms", "0",
                "auto.create.topics.enable", "false"));
        kafka.afterPropertiesSet();
        try {
            // The embedded server's defaults trade durability for speed (fsync and synchronous_commit
            // off); set them back so that what runs here, and what the benchmark measures, commits
            // the way a production database does.
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on")
                    .start();
            return new EmbeddedInfrastructure(kafka, postgres);
        } catch (IOException e) {
            kafka.destroy();
            throw new UncheckedIOException("embedded PostgreSQL did not start", e);
        }
    }

    public String bootstrapServers() {
        return kafka.getBrokersAsString();
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
    }

    public String username() {
        return "postgres";
    }

    public String password() {
        return "postgres";
    }

    /** The Spring Boot settings that point an application at this infrastructure. */
    public Map<String, Object> springProperties() {
        return Map.of(
                "spring.kafka.bootstrap-servers", bootstrapServers(),
                "spring.datasource.url", jdbcUrl(),
                "spring.datasource.username", username(),
                "spring.datasource.password", password());
    }

    @Override
    public void close() {
        kafka.destroy();
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts the embedded infrastructure when the environment names neither Kafka bootstrap servers nor a
     * datasource URL, and sets {@code checkout.embedded=true}. Naming only one of the two is a
     * configuration mistake and fails the start: the service never quietly runs half on its own
     * infrastructure. The infrastructure stops after the application context has closed.
     */
    public static final class StartWhenUnconfigured implements ApplicationListener<SpringApplicationEvent>, Ordered {

        @Override
        public int getOrder() {
            // After the configuration files are read, before logging is initialised.
            return Ordered.HIGHEST_PRECEDENCE + 15;
        }

        private EmbeddedInfrastructure infrastructure;

        @Override
        public void onApplicationEvent(SpringApplicationEvent event) {
            if (event instanceof ApplicationEnvironmentPreparedEvent prepared) {
                ConfigurableEnvironment env = prepared.getEnvironment();
                boolean kafka = env.containsProperty("spring.kafka.bootstrap-servers");
                boolean database = env.containsProperty("spring.datasource.url");
                if (kafka != database) {
                    throw new IllegalStateException("Only " + (kafka ? "SPRING_KAFKA_BOOTSTRAP_SERVERS" : "SPRING_DATASOURCE_URL")
                            + " is set. Set both SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL to run on your"
                            + " own Kafka and PostgreSQL, or neither to run on the embedded default.");
                }
                if (!kafka) {
                    infrastructure = start();
                    var properties = new HashMap<String, Object>(infrastructure.springProperties());
                    properties.put("checkout.embedded", "true");
                    // Keep the demo's terminal readable: the in-process broker and consumers log a lot at info.
                    properties.put("logging.level.org.springframework.kafka", "warn");
                    properties.put("logging.level.org.apache.kafka", "error");
                    properties.put("logging.level.kafka", "error");
                    env.getPropertySources().addFirst(new MapPropertySource("embeddedInfrastructure", properties));
                }
            } else if (event instanceof ApplicationPreparedEvent prepared && infrastructure != null) {
                EmbeddedInfrastructure started = infrastructure;
                // Registered before any bean, so destroyed after all of them: consumers stop first.
                ((DefaultListableBeanFactory) prepared
                        .getApplicationContext().getBeanFactory())
                        .registerDisposableBean("embeddedInfrastructure", started::close);
            }
        }
    }
}
