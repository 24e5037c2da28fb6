package io.github.checkout.embedded;

import io.github.checkout.config.EmbeddedDefault;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.PreboundSocketFactoryManager;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.common.utils.Exit;
import org.springframework.core.env.Environment;

/**
 * A real Kafka broker (KRaft, in this JVM) and a real PostgreSQL server (embedded binaries, a child
 * process), on loopback ports only: nothing of them is reachable from another machine. Used by the application when neither Kafka nor a datasource is configured
 * ({@link Default}), and by the tests when no Docker engine is available.
 */
public final class EmbeddedInfrastructure implements EmbeddedDefault.Running {

    /** The ports the embedded default listens on when they are free; chosen to miss a local Kafka and PostgreSQL. */
    public static final int KAFKA_PORT = 19092;
    public static final int POSTGRES_PORT = 15432;

    /** A broker listener of its own on a fixed port: the test kit binds its own listener to a random one. */
    private static final String FIXED_LISTENER = "FIXED";

    private final KafkaClusterTestKit kafka;
    private final int kafkaPort;
    private final EmbeddedPostgres postgres;

    private EmbeddedInfrastructure(KafkaClusterTestKit kafka, int kafkaPort, EmbeddedPostgres postgres) {
        this.kafka = kafka;
        this.kafkaPort = kafkaPort;
        this.postgres = postgres;
    }

    /** On free random ports, so that any number of them run side by side. */
    public static EmbeddedInfrastructure start() {
        return start(0, 0);
    }

    /** On these ports, each if it is free; 0, or a port that is taken, is a free random one. */
    public static EmbeddedInfrastructure start(int kafkaPort, int postgresPort) {
        int fixedKafkaPort = isFree(kafkaPort) ? kafkaPort : 0;
        Map<String, String> broker = new HashMap<>(Map.of(
                "transaction.state.log.replication.factor", "1",
                "transaction.state.log.min.isr", "1",
                "offsets.topic.replication.factor", "1",
                "group.initial.rebalance.delay.ms", "0",
                "auto.create.topics.enable", "false"));
        if (fixedKafkaPort != 0) {
            // The test kit's own listeners as it would name them (port 0: the sockets it bound beforehand),
            // and one more on the fixed port.
            broker.put("listeners", "EXTERNAL://localhost:0,CONTROLLER://localhost:0,"
                    + FIXED_LISTENER + "://localhost:" + fixedKafkaPort);
            broker.put("listener.security.protocol.map", "EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                    + FIXED_LISTENER + ":PLAINTEXT");
        }
        KafkaClusterTestKit kafka = startKafka(broker);
        try {
            // The embedded server's defaults trade durability for speed (fsync and synchronous_commit
            // off); set them back so that what runs here, and what the benchmark measures, commits
            // the way a production database does.
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on");
            if (isFree(postgresPort)) {
                builder.setPort(postgresPort);
            }
            return new EmbeddedInfrastructure(kafka, fixedKafkaPort, builder.start());
        } catch (IOException e) {
            closeKafka(kafka);
            throw new UncheckedIOException("embedded PostgreSQL did not start", e);
        }
    }

    /** Kafka's own test kit, one combined broker and controller, as spring-kafka-test's embedded broker runs it. */
    private static KafkaClusterTestKit startKafka(Map<String, String> properties) {
        // A fatal error inside the broker ends neither the demo nor a test JVM: it is thrown instead.
        Exit.setExitProcedure((status, message) -> {
            throw new IllegalStateException("Kafka called Exit.exit(" + status + ", " + message + ")");
        });
        Exit.setHaltProcedure((status, message) -> {
            throw new IllegalStateException("Kafka called Exit.halt(" + status + ", " + message + ")");
        });
        KafkaClusterTestKit kafka = null;
        try {
            var builder = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                    .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build());
            properties.forEach(builder::setConfigProp);
            kafka = builder.build();
            loopbackOnly(kafka);
            kafka.format();
            kafka.startup();
            kafka.waitForReadyBrokers();
            return kafka;
        } catch (Exception e) {
            if (kafka != null) {
                closeKafka(kafka);
            }
            throw new IllegalStateException("embedded Kafka did not start", e);
        }
    }

    /**
     * The test kit binds each listener's socket ahead of the broker, to every interface of the machine
     * (its port 0 picks the port), and hands it over when the broker starts. Closed now, each is bound
     * again at start on its listener's own host, localhost, and on the same port.
     */
    private static void loopbackOnly(KafkaClusterTestKit kafka) throws Exception {
        Field sockets = KafkaClusterTestKit.class.getDeclaredField("socketFactoryManager");
        sockets.setAccessible(true);
        ((PreboundSocketFactoryManager) sockets.get(kafka)).close();
    }

    private static void closeKafka(KafkaClusterTestKit kafka) {
        try {
            kafka.close();
        } catch (Exception e) {
            throw new IllegalStateException("embedded Kafka did not stop", e);
        }
    }

    private static boolean isFree(int port) {
        if (port == 0) {
            return false;
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("localhost", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public String bootstrapServers() {
        return kafkaPort == 0 ? kafka.bootstrapServers() : "localhost:" + kafkaPort;
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
    @Override
    public Map<String, Object> springProperties() {
        return Map.of(
                "spring.kafka.bootstrap-servers", bootstrapServers(),
                "spring.datasource.url", jdbcUrl(),
                "spring.datasource.username", username(),
                "spring.datasource.password", password());
    }

    @Override
    public void close() {
        closeKafka(kafka);
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The application's embedded default, on fixed ports so that a served demo can be reached from
     * outside: {@code checkout.embedded.kafka-port} (19092) and {@code checkout.embedded.postgres-port}
     * (15432), a free random port where one is taken or 0.
     */
    public static final class Default implements EmbeddedDefault {

        @Override
        public Running start(Environment environment) {
            // Kafka's storage formatter prints a line of its own; the demo's terminal shows the race only.
            PrintStream out = System.out;
            System.setOut(new PrintStream(OutputStream.nullOutputStream()));
            try {
                return EmbeddedInfrastructure.start(
                        environment.getProperty("checkout.embedded.kafka-port", Integer.class, KAFKA_PORT),
                        environment.getProperty("checkout.embedded.postgres-port", Integer.class, POSTGRES_PORT));
            } finally {
                System.setOut(out);
            }
        }
    }
}
