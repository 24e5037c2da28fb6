package io.github.checkout.support;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.springframework.util.FileSystemUtils;

/**
 * A single-node KRaft Kafka broker in a child JVM, so that a test can kill it hard (SIGKILL) and start
 * it again on the same log directory and the same port: clients keep their bootstrap address and the
 * advertised listener, as they do when a real broker restarts. Its output goes to {@code broker.log} in
 * its directory, which {@link #logTail()} returns for a failing test's message.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Path dir;
    private final Path config;
    private final Path log;
    private final int port;
    private final Map<String, Object> client;
    private final List<String> formatArguments;
    private Process process;

    private KafkaBrokerProcess(Path dir, int port, int controllerPort, Map<String, String> settings,
                               Map<String, Object> client, List<String> formatArguments) throws IOException {
        this.dir = dir;
        this.port = port;
        this.client = client;
        this.formatArguments = formatArguments;
        this.config = dir.resolve("server.properties");
        this.log = dir.resolve("broker.log");
        Files.writeString(config, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=4",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                // A restarted broker cannot register until its killed predecessor's session has expired
                // (DuplicateBrokerRegistrationException): 9 s by default, 3 s here.
                "broker.heartbeat.interval.ms=500",
                "broker.session.timeout.ms=3000",
                // Settings of the caller's own: later lines win.
                settings.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("\n")),
                ""), StandardCharsets.UTF_8);
        // Plain logback, without Spring Boot to configure it, logs everything at DEBUG.
        Files.writeString(dir.resolve("logback.xml"), """
                <configuration>
                  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
                    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
                  </appender>
                  <logger name="kafka" level="INFO"/>
                  <logger name="org.apache.kafka" level="INFO"/>
                  <logger name="state.change.logger" level="WARN"/>
                  <root level="WARN"><appender-ref ref="out"/></root>
                </configuration>
                """, StandardCharsets.UTF_8);
    }

    /** Formats a new log directory and starts the broker on free local ports; returns once it answers. */
    public static KafkaBrokerProcess start() {
        return start(Map.of(), Map.of());
    }

    /**
     * As {@link #start()}, with these server settings over the defaults (e.g. SASL listeners and an
     * authorizer), these arguments to the storage format (e.g. {@code --add-scram}), and these client
     * settings (its credentials) for the check that it answers.
     */
    public static KafkaBrokerProcess start(Map<String, String> settings, Map<String, Object> client, String... formatArguments) {
        try {
            Path dir = Files.createTempDirectory("kafka-broker-");
            KafkaBrokerProcess broker = new KafkaBrokerProcess(dir, freePort(), freePort(), settings, client, List.of(formatArguments));
            broker.format();
            broker.startProcess();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** Kills the broker with SIGKILL: no shutdown hook, no flush, no controlled leader handover. */
    public void kill() {
        process.destroyForcibly();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the broker did not die within 30 s of SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Starts the broker again on the same log directory and ports; returns once it answers. */
    public void restart() {
        if (process.isAlive()) {
            throw new IllegalStateException("the broker is still running");
        }
        startProcess();
    }

    /** The last lines the broker printed, for a failing test's message. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no broker log: " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            kill();
        }
        FileSystemUtils.deleteRecursively(dir.toFile());
    }

    private void format() {
        List<String> arguments = new ArrayList<>(List.of("format", "--config", config.toString(),
                "--cluster-id", Uuid.randomUuid().toString()));
        arguments.addAll(formatArguments);
        Process format = java("kafka.tools.StorageTool", arguments.toArray(String[]::new));
        try {
            if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
                format.destroyForcibly();
                throw new IllegalStateException("formatting the broker's log directory failed:\n" + logTail());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void startProcess() {
        process = java("kafka.Kafka", config.toString());
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
        Map<String, Object> settings = new HashMap<>(client);
        settings.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(settings)) {
            await().atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(200))
                    .ignoreExceptionsInstanceOf(ExecutionException.class)
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("the broker exited with " + process.exitValue() + ":\n" + logTail());
                        }
                        return !admin.describeCluster(new DescribeClusterOptions().timeoutMs(1000)).nodes().get().isEmpty();
                    });
        }
    }

    /** A JVM on this test's own classpath, which holds the Kafka server through spring-kafka-test. */
    private Process java(String mainClass, String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dlogback.configurationFile=" + dir.resolve("logback.xml"),
                "-cp", System.getProperty("java.class.path"),
                mainClass));
        command.addAll(List.of(args));
        try {
            return new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .directory(new File("."))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
