package io.github.checkout.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.bootstrap.DefaultBootstrapContext;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** The embedded default starts only when neither Kafka nor a datasource is configured; half a configuration is refused. */
class StartWhenUnconfiguredTest {

    @Test
    void onlyADatasource_isRefusedNamingTheMissingSetting() {
        assertThatThrownBy(() -> prepare(Map.of("spring.datasource.url", "jdbc:postgresql://db/checkout")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Only SPRING_DATASOURCE_URL is set")
                .hasMessageContaining("SPRING_KAFKA_BOOTSTRAP_SERVERS");
    }

    @Test
    void onlyKafka_isRefusedNamingTheMissingSetting() {
        assertThatThrownBy(() -> prepare(Map.of("spring.kafka.bootstrap-servers", "kafka:9092")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Only SPRING_KAFKA_BOOTSTRAP_SERVERS is set");
    }

    @Test
    void bothConfigured_startsNothingEmbedded() {
        StandardEnvironment environment = prepare(Map.of(
                "spring.datasource.url", "jdbc:postgresql://db/checkout", "spring.kafka.bootstrap-servers", "kafka:9092"));
        assertThat(environment.getPropertySources().contains("embeddedInfrastructure")).isFalse();
        assertThat(environment.getProperty("checkout.embedded")).isNull();
    }

    private static StandardEnvironment prepare(Map<String, Object> settings) {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("test", settings));
        new EmbeddedInfrastructure.StartWhenUnconfigured().onApplicationEvent(new ApplicationEnvironmentPreparedEvent(
                new DefaultBootstrapContext(), new SpringApplication(), new String[0], environment));
        return environment;
    }
}
