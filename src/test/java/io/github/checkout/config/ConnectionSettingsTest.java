package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.bootstrap.DefaultBootstrapContext;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.core.env.Environment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * The embedded default starts only when neither Kafka nor a database is configured at all, and only
 * where the class path has one; half a configuration is refused, naming what is set and what is missing.
 */
class ConnectionSettingsTest {

    @Test
    void onlyADatasource_isRefusedNamingTheMissingSetting() {
        assertThatThrownBy(() -> prepare(Map.of("spring.datasource.url", "jdbc:postgresql://db/checkout")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SPRING_DATASOURCE_URL is set, but SPRING_KAFKA_BOOTSTRAP_SERVERS is not");
    }

    @Test
    void onlyKafka_isRefusedNamingTheMissingSetting() {
        assertThatThrownBy(() -> prepare(Map.of("spring.kafka.bootstrap-servers", "kafka:9092")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SPRING_KAFKA_BOOTSTRAP_SERVERS is set, but SPRING_DATASOURCE_URL is not");
    }

    @Test
    void databaseCredentialsWithoutUrls_areRefusedInsteadOfStartingTheDemo() {
        assertThatThrownBy(() -> prepareFromVariables(Map.of(
                "SPRING_DATASOURCE_USERNAME", "checkout", "SPRING_DATASOURCE_PASSWORD", "secret")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SPRING_DATASOURCE_USERNAME")
                .hasMessageContaining("SPRING_DATASOURCE_PASSWORD")
                .hasMessageContaining("but SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL are not");
    }

    @Test
    void migrationCredentialsWithoutUrls_areRefusedInsteadOfStartingTheDemo() {
        assertThatThrownBy(() -> prepareFromVariables(Map.of(
                "SPRING_FLYWAY_USER", "checkout_owner", "SPRING_FLYWAY_PASSWORD", "secret")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SPRING_FLYWAY_USER")
                .hasMessageContaining("SPRING_FLYWAY_PASSWORD")
                .hasMessageContaining("but SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL are not");
    }

    @Test
    void kafkaSecurityWithoutUrls_isRefused() {
        assertThatThrownBy(() -> prepareFromVariables(Map.of(
                "SPRING_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", "PlainLoginModule required;")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SPRING_KAFKA_SECURITY_PROTOCOL")
                .hasMessageContaining("SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG")
                .hasMessageContaining("but SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL are not");
    }

    @Test
    void kafkaSecurityAsIndexedProperty_withTheDatabaseOnly_isRefused() {
        assertThatThrownBy(() -> prepare(Map.of(
                "spring.datasource.url", "jdbc:postgresql://db/checkout",
                "spring.kafka.properties[sasl.mechanism]", "PLAIN")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SPRING_KAFKA_PROPERTIES_SASL_MECHANISM")
                .hasMessageContaining("but SPRING_KAFKA_BOOTSTRAP_SERVERS is not");
    }

    @Test
    void kafkaSettingsThatAreNoConnection_stillStartTheEmbeddedDefault() {
        StandardEnvironment environment = isolated(Map.of());
        environment.getPropertySources().addFirst(new MapPropertySource("test", Map.of(
                "spring.kafka.consumer.auto-offset-reset", "earliest",
                "spring.kafka.producer.properties[linger.ms]", "5",
                "spring.datasource.hikari.maximum-pool-size", "8")));
        assertThat(ConnectionSettings.connectionSettings(environment)).isEmpty();
    }

    @Test
    void bothConfigured_withCredentials_startsNothingEmbedded() {
        StandardEnvironment environment = prepare(Map.of(
                "spring.datasource.url", "jdbc:postgresql://db/checkout", "spring.kafka.bootstrap-servers", "kafka:9092",
                "spring.datasource.username", "checkout", "spring.kafka.security.protocol", "SASL_SSL"));
        assertThat(environment.getPropertySources().contains("embeddedInfrastructure")).isFalse();
        assertThat(environment.getProperty("checkout.embedded")).isNull();
    }

    @Test
    void nothingConfigured_startsTheEmbeddedDefault_quietUnlessAskedOtherwise() {
        Started embedded = new Started();
        StandardEnvironment environment = prepared(isolated(Map.of()), new ConnectionSettings(List.of(embedded)));

        assertThat(embedded.started).isTrue();
        assertThat(environment.getProperty("checkout.embedded")).isEqualTo("true");
        assertThat(environment.getProperty("spring.kafka.bootstrap-servers")).isEqualTo("localhost:1");
        assertThat(environment.getProperty("logging.level.root")).isEqualTo("warn");

        StandardEnvironment askingForLogs = isolated(Map.of("LOGGING_LEVEL_ROOT", "info"));
        prepared(askingForLogs, new ConnectionSettings(List.of(new Started())));
        assertThat(askingForLogs.getProperty("logging.level.root")).isEqualTo("info");
    }

    @Test
    void nothingConfigured_withoutAnEmbeddedDefault_isRefusedNamingTheSettingsAndTheDemo() {
        assertThatThrownBy(() -> prepared(isolated(Map.of()), new ConnectionSettings(List.of())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("set SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL,"
                        + " and SPRING_DATASOURCE_USERNAME and SPRING_DATASOURCE_PASSWORD")
                .hasMessageContaining("java -jar oversell-proof-checkout-demo.jar");
    }

    /** An embedded default that starts nothing and says where it would be. */
    private static final class Started implements EmbeddedDefault, EmbeddedDefault.Running {

        boolean started;

        @Override
        public Running start(Environment environment) {
            started = true;
            return this;
        }

        @Override
        public Map<String, Object> springProperties() {
            return Map.of("spring.kafka.bootstrap-servers", "localhost:1", "spring.datasource.url", "jdbc:postgresql://localhost:2/db");
        }

        @Override
        public void close() {
        }
    }

    private static StandardEnvironment prepare(Map<String, Object> settings) {
        StandardEnvironment environment = isolated(Map.of());
        environment.getPropertySources().addFirst(new MapPropertySource("test", settings));
        return prepared(environment);
    }

    private static StandardEnvironment prepareFromVariables(Map<String, Object> variables) {
        return prepared(isolated(variables));
    }

    /** An environment that sees only the given environment variables, neither this machine's nor this JVM's settings. */
    private static StandardEnvironment isolated(Map<String, Object> variables) {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
        return environment;
    }

    private static StandardEnvironment prepared(StandardEnvironment environment) {
        // Unconfigured, these tests would start nothing: no embedded default is offered.
        return prepared(environment, new ConnectionSettings(List.of()));
    }

    private static StandardEnvironment prepared(StandardEnvironment environment, ConnectionSettings listener) {
        listener.onApplicationEvent(new ApplicationEnvironmentPreparedEvent(
                new DefaultBootstrapContext(), new SpringApplication(), new String[0], environment));
        return environment;
    }
}
