package io.github.checkout.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.boot.context.event.SpringApplicationEvent;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
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
     * Starts the embedded infrastructure when the environment configures neither Kafka nor a database,
     * and sets {@code checkout.embedded=true}. Half a configuration fails the start, naming what is set
     * and what is missing: one connection URL without the other, or database credentials or Kafka
     * security settings without the URLs, which would otherwise start the embedded demo and ignore them.
     * The service never quietly runs half, or wholly, on its own infrastructure when the operator meant
     * another. The infrastructure stops after the application context has closed.
     */
    public static final class StartWhenUnconfigured implements ApplicationListener<SpringApplicationEvent>, Ordered {

        private static final ConfigurationPropertyName KAFKA_URL = ConfigurationPropertyName.of("spring.kafka.bootstrap-servers");
        private static final ConfigurationPropertyName DATABASE_URL = ConfigurationPropertyName.of("spring.datasource.url");
        private static final ConfigurationPropertyName KAFKA = ConfigurationPropertyName.of("spring.kafka");
        /** Settings that only make sense with a database URL: they name who connects, or where. */
        private static final List<ConfigurationPropertyName> DATABASE_CONNECTION = Stream.of(
                "spring.datasource.username", "spring.datasource.password",
                "spring.datasource.hikari.jdbc-url", "spring.datasource.hikari.username", "spring.datasource.hikari.password")
                .map(ConfigurationPropertyName::of).toList();
        /** Words that mark a Kafka setting as part of the connection: security protocol, SASL, TLS, JAAS. */
        private static final Set<String> KAFKA_SECURITY = Set.of("security", "sasl", "ssl", "jaas");

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
                Set<ConfigurationPropertyName> set = connectionSettings(env);
                if (!set.isEmpty() && !(set.contains(KAFKA_URL) && set.contains(DATABASE_URL))) {
                    throw new IllegalStateException(halfConfiguration(set));
                }
                if (set.isEmpty()) {
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

        private static String halfConfiguration(Set<ConfigurationPropertyName> set) {
            List<String> given = set.stream().map(StartWhenUnconfigured::variable).toList();
            List<String> missing = Stream.of(KAFKA_URL, DATABASE_URL).filter(url -> !set.contains(url))
                    .map(StartWhenUnconfigured::variable).toList();
            return "Half a configuration: " + String.join(", ", given) + (given.size() == 1 ? " is" : " are")
                    + " set, but " + String.join(" and ", missing) + (missing.size() == 1 ? " is" : " are") + " not."
                    + " Set both SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL (and any credentials) to run"
                    + " on your own Kafka and PostgreSQL, or none of these settings to run on the embedded default.";
        }

        /** The Kafka and database connection settings the environment sets, in any form (variable, argument, file). */
        static Set<ConfigurationPropertyName> connectionSettings(ConfigurableEnvironment env) {
            Set<ConfigurationPropertyName> set = new LinkedHashSet<>();
            for (ConfigurationPropertySource source : ConfigurationPropertySources.get(env)) {
                for (ConfigurationPropertyName name : List.of(KAFKA_URL, DATABASE_URL)) {
                    if (source.getConfigurationProperty(name) != null) {
                        set.add(name);
                    }
                }
                for (ConfigurationPropertyName name : DATABASE_CONNECTION) {
                    if (source.getConfigurationProperty(name) != null) {
                        set.add(name);
                    }
                }
                if (source instanceof IterableConfigurationPropertySource iterable) {
                    iterable.stream().filter(StartWhenUnconfigured::isKafkaConnection).forEach(set::add);
                }
            }
            return set;
        }

        /**
         * A Kafka security setting ({@code spring.kafka.security.protocol}, {@code spring.kafka.ssl.*},
         * {@code spring.kafka.jaas.*}, {@code spring.kafka.properties.sasl.*}, the same per client), or a
         * client's own bootstrap servers.
         */
        private static boolean isKafkaConnection(ConfigurationPropertyName name) {
            if (!KAFKA.isAncestorOf(name) || name.equals(KAFKA_URL)) {
                return false;
            }
            for (int i = KAFKA.getNumberOfElements(); i < name.getNumberOfElements(); i++) {
                String element = name.getElement(i, ConfigurationPropertyName.Form.UNIFORM);
                // An indexed key such as properties[sasl.jaas.config] is one element holding dots.
                String first = element.contains(".") ? element.substring(0, element.indexOf('.')) : element;
                if (KAFKA_SECURITY.contains(first)) {
                    return true;
                }
            }
            return name.getLastElement(ConfigurationPropertyName.Form.UNIFORM).equals("bootstrapservers");
        }

        /** The environment variable that sets the property: SPRING_DATASOURCE_USERNAME for spring.datasource.username. */
        private static String variable(ConfigurationPropertyName name) {
            return name.toString().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_")
                    .replaceAll("_$", "");
        }
    }
}
