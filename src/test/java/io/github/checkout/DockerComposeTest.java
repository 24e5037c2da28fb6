package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * No Docker engine runs in CI, so docker-compose.yml is checked by reading it: the processor gets the
 * same standard settings the tested configuration uses, pointing at the services the file defines,
 * and the single broker can run the transactions the processor needs.
 */
class DockerComposeTest {

    private final Map<String, Object> services = services();

    @Test
    void processorIsConfiguredThroughTheStandardSettingsAndPointsAtTheComposedServices() {
        Map<String, Object> env = map(service("processor").get("environment"));
        Map<String, Object> postgres = map(service("postgres").get("environment"));

        URI database = URI.create(((String) env.get("SPRING_DATASOURCE_URL")).substring("jdbc:".length()));
        assertThat(database.getScheme()).isEqualTo("postgresql");
        assertThat(services).containsKey(database.getHost());
        assertThat(database.getPort()).isEqualTo(5432);
        assertThat(database.getPath()).isEqualTo("/" + postgres.get("POSTGRES_DB"));
        assertThat(env.get("SPRING_DATASOURCE_USERNAME")).isEqualTo(postgres.get("POSTGRES_USER"));
        assertThat(env.get("SPRING_DATASOURCE_PASSWORD")).isEqualTo(postgres.get("POSTGRES_PASSWORD"));

        String bootstrap = (String) env.get("SPRING_KAFKA_BOOTSTRAP_SERVERS");
        String advertised = (String) map(service("kafka").get("environment")).get("KAFKA_ADVERTISED_LISTENERS");
        assertThat(advertised).contains("://" + bootstrap);
        assertThat(services).containsKey(bootstrap.substring(0, bootstrap.indexOf(':')));
    }

    @Test
    void singleBrokerCanRunTransactions() {
        Map<String, Object> kafka = map(service("kafka").get("environment"));
        assertThat(kafka).containsEntry("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", 1)
                .containsEntry("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", 1)
                .containsEntry("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", 1);
    }

    @Test
    void processorRunsTheJarTheBuildProduces() throws IOException {
        String jar = "oversell-proof-checkout.jar";
        assertThat(Files.readString(Path.of("pom.xml"))).contains("<finalName>${project.artifactId}</finalName>")
                .contains("<artifactId>oversell-proof-checkout</artifactId>");
        assertThat((List<?>) service("processor").get("volumes")).anySatisfy(v ->
                assertThat((String) v).startsWith("./target/" + jar + ":"));
        assertThat((List<?>) service("processor").get("command")).last().asString().endsWith("/" + jar);
    }

    @Test
    @SuppressWarnings("unchecked")
    void processorPublishesItsManagementPort_andIsGivenTimeToFinishItsBatchWhenStopped() throws IOException {
        Map<String, Object> processor = service("processor");
        assertThat((List<Object>) processor.get("ports")).contains("8081:8081");
        Duration grace = seconds((String) processor.get("stop_grace_period"));
        Duration batch = null;
        try (Reader reader = Files.newBufferedReader(Path.of("src/main/resources/application.yml"))) {
            for (Object document : new Yaml().loadAll(reader)) {
                Object lifecycle = map(map(document).getOrDefault("spring", Map.of())).get("lifecycle");
                if (lifecycle != null) {
                    batch = seconds((String) map(lifecycle).get("timeout-per-shutdown-phase"));
                }
            }
        }
        assertThat(batch).as("spring.lifecycle.timeout-per-shutdown-phase").isNotNull();
        assertThat(grace).as("stop_grace_period, against the wait for a batch in flight").isGreaterThan(batch);
    }

    private static Duration seconds(String value) {
        assertThat(value).matches("\\d+s");
        return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
    }

    private Map<String, Object> service(String name) {
        assertThat(services).containsKey(name);
        return map(services.get(name));
    }

    private static Map<String, Object> services() {
        try (Reader reader = Files.newBufferedReader(Path.of("docker-compose.yml"))) {
            Map<String, Object> compose = new Yaml().load(reader);
            return map(compose.get("services"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }
}
