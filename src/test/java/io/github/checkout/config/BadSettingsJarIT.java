package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.TestInfrastructure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.test.JaasUtils;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad settings end the packaged production jar at start with a non-zero exit status and a message that
 * names the mistake: a wrong Kafka password (against a broker that authenticates with SASL PLAIN), a
 * database that is not UTF8, database credentials without the connection URLs, no settings at all (the
 * production jar has no embedded default to fall back on).
 */
class BadSettingsJarIT {

    private static final String JAAS_CONFIG = "java.security.auth.login.config";

    private static KafkaClusterTestKit saslKafka;
    private static String previousJaasConfig;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSaslBroker() throws Exception {
        // The shared broker and database first, as in every test: the jars below use the database.
        TestInfrastructure.springProperties();
        previousJaasConfig = System.getProperty(JAAS_CONFIG);
        // Kafka's own test kit: a broker whose listener authenticates with SASL PLAIN, users in a JAAS file.
        saslKafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1)
                .setBrokerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT)
                .setControllerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT)
                .build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .build();
        saslKafka.format();
        saslKafka.startup();
        saslKafka.waitForReadyBrokers();
    }

    @AfterAll
    static void stopSaslBroker() throws Exception {
        if (saslKafka != null) {
            saslKafka.close();
        }
        // The test kit pointed this JVM at its JAAS file; later tests must not inherit it.
        if (previousJaasConfig == null) {
            System.clearProperty(JAAS_CONFIG);
        } else {
            System.setProperty(JAAS_CONFIG, previousJaasConfig);
        }
    }

    @Test
    void wrongKafkaPassword_theStartFailsWithANonZeroExit() throws Exception {
        Ended run = runJar(withWrongKafkaPassword());

        assertThat(run.status()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("Could not configure topics").contains("SaslAuthenticationException");
    }

    @Test
    void wrongKafkaPassword_withoutTheAdminCheck_theListenersStopAndTheServiceExitsNonZero() throws Exception {
        // Credentials that Kafka refuses once the service runs take the other path: each listener container
        // stops for good, and the service must not run on deaf nor exit 0.
        // The refund group is the purchases' here, so that no offsets are carried over at start either: the
        // listeners are the first to meet the broker.
        Ended run = runJar(withWrongKafkaPassword(), "--spring.kafka.admin.fail-fast=false",
                "--checkout.groups.refunds=order-processor");

        assertThat(run.status()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).containsPattern("ERROR .*Kafka listener \\S+ \\(group \\S+\\) stopped for good, AUTH:"
                + " Kafka refused its credentials or its rights");
    }

    @Test
    void holdsThatCouldOutliveTheirLifetime_areRefusedAtStart() throws Exception {
        // The longest holdFor (2 hours) above the longest a hold may live (1 hour, the default).
        Ended run = runJar(plainKafkaAndDatabase(), "--checkout.holds.max-duration=PT2H");

        assertThat(run.status()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("checkout.holds").contains("max-lifetime must be at least max-duration");
    }

    @Test
    void latin1Database_isRefusedNamingItsEncodingBeforeAnythingIsMigrated() throws Exception {
        String database = "latin1_" + UUID.randomUUID().toString().replace("-", "");
        admin("create database " + database + " with encoding 'LATIN1' lc_collate 'C' lc_ctype 'C' template template0");
        try {
            Map<String, String> settings = new HashMap<>(plainKafkaAndDatabase());
            settings.put("SPRING_DATASOURCE_URL", inDatabase(database));

            Ended run = runJar(settings);

            assertThat(run.status()).as(run.output()).isNotZero();
            assertThat(run.output()).contains("is encoded in LATIN1, not UTF8");
            assertThat(tablesIn(database)).as("tables Flyway created").isEmpty();
        } finally {
            admin("drop database " + database + " with (force)");
        }
    }

    @Test
    void databaseCredentialsWithoutUrls_areRefusedInsteadOfStartingTheDemo() throws Exception {
        Ended run = runJar(Map.of("SPRING_DATASOURCE_USERNAME", "checkout", "SPRING_DATASOURCE_PASSWORD", "secret"));

        assertThat(run.status()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("SPRING_DATASOURCE_USERNAME, SPRING_DATASOURCE_PASSWORD are set,"
                + " but SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL are not")
                .doesNotContain("The last item is on sale");
    }

    @Test
    void noSettingsAtAll_theProductionJarEndsAtOnceNamingTheSettingsAndTheDemoJar() throws Exception {
        Instant start = Instant.now();
        Ended run = runJar(Map.of());

        assertThat(Duration.between(start, Instant.now())).as("time to the end").isLessThan(Duration.ofSeconds(30));
        assertThat(run.status()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("No connection settings.")
                .contains("set SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL,"
                        + " and SPRING_DATASOURCE_USERNAME and SPRING_DATASOURCE_PASSWORD")
                .contains("java -jar oversell-proof-checkout-demo.jar")
                .contains("./mvnw -q spring-boot:run -Dspring-boot.run.arguments=\"--buyers=1000\"")
                .doesNotContain("The last item is on sale");
    }

    private static Map<String, String> withWrongKafkaPassword() {
        Map<String, String> settings = new HashMap<>(plainKafkaAndDatabase());
        settings.put("SPRING_KAFKA_BOOTSTRAP_SERVERS", saslKafka.bootstrapServers());
        settings.put("SPRING_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT");
        settings.put("SPRING_KAFKA_PROPERTIES_SASL_MECHANISM", "PLAIN");
        settings.put("SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.plain.PlainLoginModule"
                + " required username=\"" + JaasUtils.KAFKA_PLAIN_ADMIN + "\" password=\"not-the-password\";");
        return settings;
    }

    private static Map<String, String> plainKafkaAndDatabase() {
        return ServiceProcess.testInfrastructureSettings();
    }

    private record Ended(int status, String output) {
    }

    /** Runs the packaged jar with exactly these settings as environment variables, until it ends. */
    private Ended runJar(Map<String, String> settings, String... args) throws Exception {
        try (ServiceProcess run = ServiceProcess.withSettings(settings, Files.createTempFile(dir, "output", ".txt"), args).start()) {
            boolean ended = run.waitFor(Duration.ofMinutes(2));
            assertThat(ended).as("the jar ended within 2 minutes:%n%s", run.output()).isTrue();
            return new Ended(run.exitValue(), run.output());
        }
    }

    private static void admin(String sql) throws SQLException {
        try (Connection connection = connect(TestInfrastructure.jdbcUrl()); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static List<String> tablesIn(String database) throws SQLException {
        List<String> tables = new ArrayList<>();
        try (Connection connection = connect(inDatabase(database)); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(
                     "select table_schema || '.' || table_name from information_schema.tables"
                             + " where table_schema not in ('pg_catalog', 'information_schema')")) {
            while (rows.next()) {
                tables.add(rows.getString(1));
            }
        }
        return tables;
    }

    private static Connection connect(String url) throws SQLException {
        Map<String, Object> shared = TestInfrastructure.springProperties();
        return DriverManager.getConnection(url,
                (String) shared.get("spring.datasource.username"), (String) shared.get("spring.datasource.password"));
    }

    /** The shared server's JDBC URL, naming another database on it. */
    private static String inDatabase(String database) {
        String url = TestInfrastructure.jdbcUrl();
        int path = url.indexOf('/', "jdbc:postgresql://".length());
        int query = url.indexOf('?', path);
        return url.substring(0, path + 1) + database + (query < 0 ? "" : url.substring(query));
    }
}
