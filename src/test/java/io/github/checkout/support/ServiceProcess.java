package io.github.checkout.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import tools.jackson.databind.json.JsonMapper;

/**
 * A packaged jar run as a child process, for tests that need a real process to kill, freeze or run
 * twice: the production jar on given settings, the demo jar on its embedded default. Its output goes
 * to a file; {@link #output()} reads it.
 */
public final class ServiceProcess implements AutoCloseable {

    /** The production jar: the service, without the embedded default and the demo. */
    public static final Path JAR = Path.of("target", "oversell-proof-checkout.jar");
    /** The demo jar: everything, the embedded default included. */
    public static final Path DEMO_JAR = Path.of("target", "oversell-proof-checkout-demo.jar");

    /** The only web server of the service is the management server (server.port is -1). */
    private static final Pattern MANAGEMENT_PORT = Pattern.compile("Tomcat started on port (\\d+)");

    private final Path jar;
    private final List<String> command;
    private final Map<String, String> environment;
    private final Path output;
    private Process process;

    private ServiceProcess(Path jar, List<String> arguments, Map<String, String> environment, Path output) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        // Knobs for measuring other settings by hand, e.g. -Dservice.args=--spring.kafka.consumer.properties.group.protocol=consumer
        command.addAll(words(System.getProperty("service.jvm", "")));
        command.addAll(List.of("-jar", jar.toString()));
        this.jar = jar;
        // A port of its own for each process, so that two at once, or a test beside a running service, never clash.
        if (arguments.stream().noneMatch(argument -> argument.startsWith("--management.server.port="))) {
            command.add("--management.server.port=0");
        }
        command.addAll(arguments);
        command.addAll(words(System.getProperty("service.args", "")));
        this.command = List.copyOf(command);
        this.environment = environment;
        this.output = output;
    }

    private static List<String> words(String text) {
        return text.isBlank() ? List.of() : List.of(text.trim().split("\\s+"));
    }

    /** The demo jar with nothing configured: it starts its own embedded broker and database. */
    public static ServiceProcess onItsEmbeddedDefault(Path output, String... arguments) {
        return new ServiceProcess(DEMO_JAR, List.of(arguments), Map.of(), output);
    }

    /**
     * The jar on the test JVM's broker and database, on the topics and in the groups of {@code lane}, so
     * that it cannot disturb other tests. Its output is appended to {@code output} across restarts.
     */
    public static ServiceProcess onTestInfrastructure(Lane lane, Path output, String... arguments) {
        List<String> all = new ArrayList<>(lane.arguments());
        all.addAll(List.of(arguments));
        return new ServiceProcess(JAR, all, testInfrastructureSettings(), output);
    }

    /** The production jar with exactly these settings as environment variables, and nothing else of the caller's. */
    public static ServiceProcess withSettings(Map<String, String> settings, Path output, String... arguments) {
        return new ServiceProcess(JAR, List.of(arguments), settings, output);
    }

    /** The environment variables that point the jar at the test JVM's broker and database. */
    public static Map<String, String> testInfrastructureSettings() {
        Map<String, Object> infrastructure = TestInfrastructure.springProperties();
        return Map.of(
                "SPRING_KAFKA_BOOTSTRAP_SERVERS", (String) infrastructure.get("spring.kafka.bootstrap-servers"),
                "SPRING_DATASOURCE_URL", (String) infrastructure.get("spring.datasource.url"),
                "SPRING_DATASOURCE_USERNAME", (String) infrastructure.get("spring.datasource.username"),
                "SPRING_DATASOURCE_PASSWORD", (String) infrastructure.get("spring.datasource.password"));
    }

    /** Starts the process (again, after it was killed); its output is appended to the same file. */
    public ServiceProcess start() {
        assertThat(jar).exists();
        assertThat(process == null || !process.isAlive()).as("already running").isTrue();
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).directory(new File("."));
        // Nothing of the caller's own settings leaks in: only what this process was given.
        builder.environment().keySet().removeIf(name -> name.startsWith("SPRING_") || name.startsWith("CHECKOUT_"));
        builder.environment().putAll(environment);
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public long pid() {
        return process.pid();
    }

    /** SIGTERM, as an orchestrator stops a process: the JVM runs its shutdown hooks, and Spring closes the service. */
    public void terminate() {
        process.destroy();
    }

    /**
     * The management port of the latest start (health, metrics), which the process chose itself, read from its
     * log; so only once it has logged its start at INFO, as the production jar does.
     */
    public int managementPort() {
        Matcher started = MANAGEMENT_PORT.matcher(output());
        Integer port = null;
        while (started.find()) {
            port = Integer.valueOf(started.group(1));
        }
        assertThat(port).as("a 'Tomcat started on port' line in the output:%n%s", output()).isNotNull();
        return port;
    }

    /** SIGKILL: no shutdown hook, no goodbye to the broker, transactions left open. */
    public void killHard() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("killed").isTrue();
    }

    /** SIGSTOP: the process stays, holds its sockets and its locks, and does nothing until {@link #resume()}. */
    public void freeze() {
        signal("STOP");
    }

    /** SIGCONT. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid())).inheritIO().start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0).as("kill -%s %d", name, pid()).isTrue();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public boolean waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public int exitValue() {
        return process.exitValue();
    }

    /** Everything the process printed so far, over all its starts. */
    public String output() {
        try {
            return Files.exists(output) ? Files.readString(output, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until the process has printed {@code text} {@code times} times in all, failing early if it died. */
    public void awaitOutput(String text, int times, Duration atMost) {
        await().atMost(atMost).untilAsserted(() -> {
            String printed = output();
            assertThat(isAlive()).as("%s is alive:%n%s", command, printed).isTrue();
            assertThat(occurrences(printed, text)).as("'%s' printed %d times", text, times).isGreaterThanOrEqualTo(times);
        });
    }

    /** When the process logged each line containing {@code text}, over all its starts, from the log's own time stamps. */
    public List<Instant> loggedAt(String text) {
        return output().lines().filter(line -> line.contains(text))
                .map(line -> Instant.parse(line.substring(0, line.indexOf(' ')))).toList();
    }

    private static int occurrences(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
            count++;
        }
        return count;
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            // The demo jar's embedded PostgreSQL is a process of its own that only a shutdown hook stops.
            if (jar.equals(DEMO_JAR)) {
                process.destroy();
                process.waitFor(60, TimeUnit.SECONDS);
            }
            process.destroyForcibly();
        }
    }

    /** Topics and consumer groups of one test's own, all named after a random prefix. */
    public record Lane(String prefix, int partitions) {

        public static Lane random(String name, int partitions) {
            return new Lane(name + "-" + UUID.randomUUID().toString().substring(0, 8), partitions);
        }

        /** A file for a process's output, kept after the run: {@code target/service-logs/<prefix>-<name>.log}. */
        public Path log(String name) throws IOException {
            Path dir = Files.createDirectories(Path.of("target", "service-logs"));
            return dir.resolve(prefix + "-" + name + ".log");
        }

        public String purchaseRequests() {
            return prefix + "-purchase-requests";
        }

        public List<String> outcomeTopics() {
            return Stream.of("order-created", "out-of-stock", "purchase-rejected").map(t -> prefix + "-" + t).toList();
        }

        public String purchaseGroup() {
            return prefix + "-purchases";
        }

        /** The arguments that put a service on this lane's topics and groups. */
        public List<String> arguments() {
            List<String> arguments = new ArrayList<>();
            for (String topic : List.of("purchase-requests", "purchase-requests-dead-letter", "order-created", "out-of-stock",
                    "purchase-rejected", "refund-requests", "refund-requests-dead-letter", "order-refunded", "refund-rejected",
                    "reservation-requests", "reservation-requests-dead-letter", "stock-reserved", "reservation-released",
                    "reservation-extended", "reservation-expired", "reservation-rejected")) {
                arguments.add("--checkout.topics." + topic + "=" + prefix + "-" + topic);
            }
            arguments.add("--checkout.topics.partitions=" + partitions);
            arguments.add("--checkout.groups.purchases=" + purchaseGroup());
            arguments.add("--checkout.groups.refunds=" + prefix + "-refunds");
            arguments.add("--checkout.groups.reservations=" + prefix + "-reservations");
            return arguments;
        }

        /** Creates the input and outcome topics, so that requests can be sent before the service has started. */
        public Lane create() throws Exception {
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers()))) {
                admin.createTopics(Stream.concat(Stream.of(purchaseRequests()), outcomeTopics().stream())
                        .map(topic -> new NewTopic(topic, partitions, (short) 1)).toList()).all().get(30, TimeUnit.SECONDS);
            }
            return this;
        }
    }

    /** An outcome as a read_committed consumer saw it, and when. */
    public record Seen(String topic, String idempotencyKey, String itemId, Instant seenAt) {
    }

    /** A read_committed consumer of a lane's outcome topics, from their beginning, on a daemon thread. */
    public static final class Outcomes implements AutoCloseable {

        private final List<Seen> seen = new CopyOnWriteArrayList<>();
        private final KafkaConsumer<String, String> consumer;
        private final Thread thread;
        private volatile boolean running = true;

        public Outcomes(Lane lane) {
            consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                    new StringDeserializer(), new StringDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : lane.outcomeTopics()) {
                for (int p = 0; p < lane.partitions(); p++) {
                    partitions.add(new TopicPartition(topic, p));
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            JsonMapper json = JsonMapper.builder().build();
            thread = new Thread(() -> {
                while (running) {
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(50))) {
                        Instant now = Instant.now();
                        var value = json.readTree(record.value());
                        seen.add(new Seen(record.topic(), value.get("idempotencyKey").asString(),
                                value.get("itemId").asString(), now));
                    }
                }
                consumer.close();
            }, "outcomes-" + lane.prefix());
            thread.setDaemon(true);
            thread.start();
        }

        public List<Seen> seen() {
            return List.copyOf(seen);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(10_000);
        }
    }
}
