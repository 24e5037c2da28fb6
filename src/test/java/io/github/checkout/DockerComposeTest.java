package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * No Docker engine runs in CI, so docker-compose.yml is checked by reading it: the processor gets the
 * same standard settings the tested configuration uses, pointing at the services the file defines, as
 * the least-privileged role db/roles.sql creates, and the single broker can run the transactions the
 * processor needs.
 */
class DockerComposeTest {

    private static final String ROLES = "db/roles.sql";

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

        String bootstrap = (String) env.get("SPRING_KAFKA_BOOTSTRAP_SERVERS");
        String advertised = (String) map(service("kafka").get("environment")).get("KAFKA_ADVERTISED_LISTENERS");
        assertThat(advertised).contains("://" + bootstrap);
        assertThat(services).containsKey(bootstrap.substring(0, bootstrap.indexOf(':')));
    }

    @Test
    void processorRunsAsTheLeastPrivilegedRole_andMigratesAsTheOwner_bothMadeByTheMountedRolesScript() throws IOException {
        Map<String, Object> env = map(service("processor").get("environment"));
        Map<String, Object> postgres = map(service("postgres").get("environment"));
        String runtime = (String) env.get("SPRING_DATASOURCE_USERNAME");
        String owner = (String) env.get("SPRING_FLYWAY_USER");
        assertThat(runtime).isNotBlank().isNotEqualTo(postgres.get("POSTGRES_USER")).isNotEqualTo(owner);
        assertThat(owner).isNotBlank().isNotEqualTo(postgres.get("POSTGRES_USER"));

        // The file the README gives administrators, run by the image when it creates the database.
        assertThat(service("postgres").get("volumes")).asInstanceOf(InstanceOfAssertFactories.LIST)
                .contains("./" + ROLES + ":/docker-entrypoint-initdb.d/roles.sql:ro");
        Map<String, String> passwordVariables = rolesAndTheirPasswordVariables(Files.readString(Path.of(ROLES)));
        assertThat(passwordVariables).containsOnlyKeys(runtime, owner);
        assertThat(postgres.get(passwordVariables.get(runtime))).isNotNull().isEqualTo(env.get("SPRING_DATASOURCE_PASSWORD"));
        assertThat(postgres.get(passwordVariables.get(owner))).isNotNull().isEqualTo(env.get("SPRING_FLYWAY_PASSWORD"));
    }

    /** Each role the script creates, and the environment variable its password is read from ({@code \getenv}). */
    private static Map<String, String> rolesAndTheirPasswordVariables(String script) {
        Map<String, String> variables = new HashMap<>();
        Matcher getenv = Pattern.compile("(?m)^\\\\getenv (\\w+) (\\w+)$").matcher(script);
        while (getenv.find()) {
            variables.put(getenv.group(1), getenv.group(2));
        }
        Map<String, String> roles = new HashMap<>();
        Matcher role = Pattern.compile("(?m)^create role (\\w+) login password :'(\\w+)';$").matcher(script);
        while (role.find()) {
            roles.put(role.group(1), variables.get(role.group(2)));
        }
        return roles;
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
            // Docker compose refuses a key given twice in one mapping; SnakeYAML would keep the last.
            LoaderOptions strict = new LoaderOptions();
            strict.setAllowDuplicateKeys(false);
            Map<String, Object> compose = new Yaml(strict).load(reader);
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
