package io.github.checkout.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.bootstrap.DefaultBootstrapContext;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * The embedded default starts only when neither Kafka nor a database is configured at all; half a
 * configuration is refused, naming what is set and what is missing.
 */
class StartWhenUnconfiguredTest {

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
        assertThat(EmbeddedInfrastructure.StartWhenUnconfigured.connectionSettings(environment)).isEmpty();
    }

    @Test
    void bothConfigured_withCredentials_startsNothingEmbedded() {
        StandardEnvironment environment = prepare(Map.of(
                "spring.datasource.url", "jdbc:postgresql://db/checkout", "spring.kafka.bootstrap-servers", "kafka:9092",
                "spring.datasource.username", "checkout", "spring.kafka.security.protocol", "SASL_SSL"));
        assertThat(environment.getPropertySources().contains("embeddedInfrastructure")).isFalse();
        assertThat(environment.getProperty("checkout.embedded")).isNull();
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
        new EmbeddedInfrastructure.StartWhenUnconfigured().onApplicationEvent(new ApplicationEnvironmentPreparedEvent(
                new DefaultBootstrapContext(), new SpringApplication(), new String[0], environment));
        return environment;
    }
}
