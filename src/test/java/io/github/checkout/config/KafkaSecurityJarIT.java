package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.KafkaBrokerProcess;
import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.TestInfrastructure;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The production jar on a broker that authenticates with SASL SCRAM-SHA-512 and authorizes with ACLs
 * ({@code StandardAuthorizer}, nothing allowed without an ACL), configured through Spring Boot's standard
 * {@code spring.kafka.*} settings only. With exactly the ACLs the README lists, on topics an administrator
 * created, it decides a purchase on its transactional path; without any one of them, or with a wrong
 * password, it ends at start with a non-zero exit naming the refusal. No password, and no JAAS
 * configuration, appears in its log or its actuator answers.
 */
class KafkaSecurityJarIT {

    private static final String STARTED = "Started CheckoutApplication";
    private static final String SCRAM = "SCRAM-SHA-512";
    private static final String ADMIN = "admin";
    private static final String ADMIN_PASSWORD = "admin-" + UUID.randomUUID();
    private static final String USER = "checkout";
    /** Distinctive, so that any trace of them in a log is found. */
    private static final String KAFKA_PASSWORD = "kafka-pw-" + UUID.randomUUID().toString().replace("-", "");
    private static final String DATABASE_PASSWORD = "db-pw-" + UUID.randomUUID().toString().replace("-", "");
    private static final String DATABASE = "kafkasec_" + UUID.randomUUID().toString().replace("-", "");

    private static KafkaBrokerProcess kafka;

    @BeforeAll
    static void startSecuredBrokerAndOwnDatabase() throws Exception {
        TestInfrastructure.springProperties();
        String scram = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"%s\" password=\"%s\";";
        kafka = KafkaBrokerProcess.start(Map.ofEntries(
                Map.entry("listener.security.protocol.map", "PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"),
                // Clients and the broker itself on SCRAM; the controller listener on PLAIN, since KRaft
                // controllers cannot authenticate with SCRAM, whose users live in the metadata they serve.
                Map.entry("sasl.enabled.mechanisms", SCRAM),
                Map.entry("sasl.mechanism.inter.broker.protocol", SCRAM),
                Map.entry("listener.name.plaintext.scram-sha-512.sasl.jaas.config", scram.formatted(ADMIN, ADMIN_PASSWORD)),
                Map.entry("listener.name.controller.sasl.enabled.mechanisms", "PLAIN"),
                Map.entry("sasl.mechanism.controller.protocol", "PLAIN"),
                Map.entry("listener.name.controller.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule"
                        + " required username=\"" + ADMIN + "\" password=\"" + ADMIN_PASSWORD + "\" user_" + ADMIN + "=\"" + ADMIN_PASSWORD + "\";"),
                Map.entry("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
                Map.entry("super.users", "User:" + ADMIN),
                Map.entry("allow.everyone.if.no.acl.found", "false")),
                client(ADMIN, ADMIN_PASSWORD),
                "--add-scram", SCRAM + "=[name=" + ADMIN + ",password=" + ADMIN_PASSWORD + "]",
                "--add-scram", SCRAM + "=[name=" + USER + ",password=" + KAFKA_PASSWORD + "]");
        // A database of the service's own, reached as a login role with a distinctive password.
        sql(TestInfrastructure.jdbcUrl(), "create role " + DATABASE + " login password '" + DATABASE_PASSWORD + "'");
        sql(TestInfrastructure.jdbcUrl(), "create database " + DATABASE + " owner " + DATABASE);
    }

    @AfterAll
    static void stopBrokerAndDropDatabase() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
        sql(TestInfrastructure.jdbcUrl(), "drop database if exists " + DATABASE + " with (force)");
        sql(TestInfrastructure.jdbcUrl(), "drop role if exists " + DATABASE);
    }

    @Test
    void withExactlyTheListedAcls_aPurchaseIsDecidedTransactionally_andNoSecretIsPrinted() throws Exception {
        Lane lane = Lane.random("acl", 2);
        createTopicsAndGrant(lane, acls(lane));
        int management = freePort();
        try (ServiceProcess service = ServiceProcess.withSettings(settings(KAFKA_PASSWORD), lane.log("service"),
                arguments(lane, "--management.server.port=" + management,
                        // Every client's configuration, as Kafka logs it, and the pool's, as Hikari does.
                        "--logging.level.org.apache.kafka=info", "--logging.level.com.zaxxer.hikari.HikariConfig=debug"))
                .start()) {
            service.awaitOutput(STARTED, 1, Duration.ofSeconds(120));
            UUID item = UUID.randomUUID();
            sql(inDatabase(DATABASE), "insert into items (id, stock) values ('" + item + "', 1)");
            String key = "kafkasec-" + UUID.randomUUID();

            try (var producer = new KafkaProducer<>(client(ADMIN, ADMIN_PASSWORD), new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>(lane.purchaseRequests(), item.toString(), """
                        {"idempotencyKey": "%s", "userId": "%s", "itemId": "%s", "quantity": 1}"""
                        .formatted(key, UUID.randomUUID(), item))).get(30, TimeUnit.SECONDS);
            }
            assertThat(outcome(lane.prefix() + "-order-created", key)).as(service.output()).contains("\"remainingStock\":0");
            try (Admin admin = Admin.create(client(ADMIN, ADMIN_PASSWORD))) {
                assertThat(admin.listTransactions().all().get(30, TimeUnit.SECONDS)).map(TransactionListing::transactionalId)
                        .as("transactional ids on the broker").anyMatch(id -> id.startsWith(lane.purchaseGroup() + "-"));
            }

            List<String> answers = new ArrayList<>();
            for (String endpoint : List.of("health", "info", "prometheus")) {
                answers.add(get("http://localhost:" + management + "/actuator/" + endpoint));
            }
            String printed = service.output();
            assertThat(printed).as("Kafka logged its client settings, passwords hidden")
                    .contains("ProducerConfig values", "ConsumerConfig values", "AdminClientConfig values")
                    .contains("sasl.jaas.config = [hidden]").contains("sasl.mechanism = " + SCRAM);
            assertThat(answers.get(0)).contains("\"status\":\"UP\"");
            for (String text : Stream.concat(Stream.of(printed), answers.stream()).toList()) {
                assertThat(text).doesNotContain(KAFKA_PASSWORD, DATABASE_PASSWORD, "ScramLoginModule", "PlainLoginModule");
            }
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            Write on purchase-requests-dead-letter | Could not configure topics | TopicAuthorizationException
            Write on transactional ids             | Kafka refused the transactional ids | TransactionalIdAuthorizationException
            Read on purchases group                | Could not carry the offsets | GroupAuthorizationException
            Read on refund-requests                | Could not configure topics | TopicAuthorizationException
            """)
    void withoutOneOfTheListedAcls_theStartFailsNamingTheRefusal(String missing, String message, String refusal) throws Exception {
        Lane lane = Lane.random("acl", 2);
        List<Acl> all = acls(lane);
        assertThat(all).map(Acl::what).contains(missing);
        createTopicsAndGrant(lane, all.stream().filter(acl -> !acl.what().equals(missing)).toList());

        Instant start = Instant.now();
        try (ServiceProcess service = ServiceProcess.withSettings(settings(KAFKA_PASSWORD), lane.log("service"),
                arguments(lane, "--management.server.port=0")).start()) {
            assertThat(service.waitFor(Duration.ofSeconds(120))).as("ended:%n%s", service.output()).isTrue();
            assertThat(service.exitValue()).as(service.output()).isNotZero();
            assertThat(service.output()).contains(message).contains(refusal).doesNotContain(STARTED);
            System.out.printf("Without %s: exit %d after %d ms%n", missing, service.exitValue(),
                    Duration.between(start, Instant.now()).toMillis());
        }
    }

    @Test
    void wrongPassword_theStartFailsFastNamingTheAuthenticationFailure() throws Exception {
        Lane lane = Lane.random("acl", 2);
        createTopicsAndGrant(lane, acls(lane));
        String wrong = "wrong-pw-" + UUID.randomUUID();

        Instant start = Instant.now();
        try (ServiceProcess service = ServiceProcess.withSettings(settings(wrong), lane.log("service"),
                arguments(lane, "--management.server.port=0")).start()) {
            assertThat(service.waitFor(Duration.ofSeconds(60))).as("ended within 60 s:%n%s", service.output()).isTrue();
            Duration took = Duration.between(start, Instant.now());
            assertThat(service.exitValue()).as(service.output()).isNotZero();
            assertThat(service.output()).contains("SaslAuthenticationException")
                    .contains("Authentication failed during authentication due to invalid credentials with SASL mechanism " + SCRAM)
                    .doesNotContain(wrong).doesNotContain(STARTED);
            System.out.printf("Wrong password: exit %d after %d ms%n", service.exitValue(), took.toMillis());
        }
    }

    /** One ACL the service's principal needs, and what the README calls it. */
    record Acl(String what, AclBinding binding) {
    }

    /** Exactly what the README lists, for the topics and groups of {@code lane}. */
    static List<Acl> acls(Lane lane) {
        String p = lane.prefix();
        List<Acl> acls = new ArrayList<>();
        for (String topic : List.of("purchase-requests", "refund-requests", "reservation-requests")) {
            acls.add(acl("Read on " + topic, ResourceType.TOPIC, p + "-" + topic, PatternType.LITERAL, AclOperation.READ));
        }
        for (String topic : List.of("order-created", "out-of-stock", "purchase-rejected", "order-refunded", "refund-rejected",
                "purchase-requests-dead-letter", "refund-requests-dead-letter", "stock-reserved", "reservation-released",
                "reservation-extended", "reservation-expired", "reservation-rejected", "reservation-requests-dead-letter",
                // The hold sweep sends its expiries there.
                "reservation-requests")) {
            acls.add(acl("Write on " + topic, ResourceType.TOPIC, p + "-" + topic, PatternType.LITERAL, AclOperation.WRITE));
        }
        acls.add(acl("Read on purchases group", ResourceType.GROUP, lane.purchaseGroup(), PatternType.LITERAL, AclOperation.READ));
        acls.add(acl("Read on refunds group", ResourceType.GROUP, p + "-refunds", PatternType.LITERAL, AclOperation.READ));
        acls.add(acl("Read on reservations group", ResourceType.GROUP, p + "-reservations", PatternType.LITERAL, AclOperation.READ));
        // The transaction-id-prefix, named after the purchase group; the instance id and a number follow it.
        acls.add(acl("Write on transactional ids", ResourceType.TRANSACTIONAL_ID, lane.purchaseGroup() + "-", PatternType.PREFIXED,
                AclOperation.WRITE));
        return acls;
    }

    private static Acl acl(String what, ResourceType type, String name, PatternType pattern, AclOperation operation) {
        return new Acl(what, new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry("User:" + USER, "*", operation, AclPermissionType.ALLOW)));
    }

    /** As an administrator would: every topic up front (the service may not create any), then the ACLs. */
    private static void createTopicsAndGrant(Lane lane, List<Acl> acls) throws Exception {
        try (Admin admin = Admin.create(client(ADMIN, ADMIN_PASSWORD))) {
            admin.createTopics(Stream.of("purchase-requests", "purchase-requests-dead-letter", "order-created", "out-of-stock",
                            "purchase-rejected", "refund-requests", "refund-requests-dead-letter", "order-refunded", "refund-rejected",
                            "reservation-requests", "reservation-requests-dead-letter", "stock-reserved", "reservation-released",
                    "reservation-extended", "reservation-expired", "reservation-rejected")
                    .map(topic -> new NewTopic(lane.prefix() + "-" + topic, lane.partitions(), (short) 1)).toList())
                    .all().get(30, TimeUnit.SECONDS);
            admin.createAcls(acls.stream().map(Acl::binding).toList()).all().get(30, TimeUnit.SECONDS);
        }
    }

    /** Spring Boot's standard settings, as environment variables, the way an operator sets them. */
    private static Map<String, String> settings(String kafkaPassword) {
        Map<String, String> settings = new HashMap<>();
        settings.put("SPRING_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        settings.put("SPRING_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT");
        settings.put("SPRING_KAFKA_PROPERTIES_SASL_MECHANISM", SCRAM);
        settings.put("SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", jaas(USER, kafkaPassword));
        settings.put("SPRING_DATASOURCE_URL", inDatabase(DATABASE));
        settings.put("SPRING_DATASOURCE_USERNAME", DATABASE);
        settings.put("SPRING_DATASOURCE_PASSWORD", DATABASE_PASSWORD);
        return settings;
    }

    private static String[] arguments(Lane lane, String... more) {
        List<String> arguments = new ArrayList<>(lane.arguments());
        arguments.addAll(List.of(more));
        return arguments.toArray(String[]::new);
    }

    private static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\"" + password + "\";";
    }

    private static Map<String, Object> client(String user, String password) {
        Map<String, Object> client = new HashMap<>();
        if (kafka != null) {
            client.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        }
        client.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        client.put(SaslConfigs.SASL_MECHANISM, SCRAM);
        client.put(SaslConfigs.SASL_JAAS_CONFIG, jaas(user, password));
        return client;
    }

    /** The outcome for {@code key} on {@code topic}, as a read_committed reader sees it. */
    private static String outcome(String topic, String key) {
        Map<String, Object> settings = client(ADMIN, ADMIN_PASSWORD);
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (var consumer = new KafkaConsumer<>(settings, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<String> seen = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(record -> seen.add(record.value()));
                return seen.stream().anyMatch(value -> value.contains(key));
            });
            return seen.stream().filter(value -> value.contains(key)).findFirst().orElseThrow();
        }
    }

    private static String get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void sql(String url, String sql) throws SQLException {
        Map<String, Object> shared = TestInfrastructure.springProperties();
        try (Connection connection = DriverManager.getConnection(url,
                (String) shared.get("spring.datasource.username"), (String) shared.get("spring.datasource.password"));
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /** The shared server's JDBC URL, naming another database on it. */
    private static String inDatabase(String database) {
        String url = TestInfrastructure.jdbcUrl();
        int path = url.indexOf('/', "jdbc:postgresql://".length());
        int query = url.indexOf('?', path);
        return url.substring(0, path + 1) + database + (query < 0 ? "" : url.substring(query));
    }
}
