package io.github.checkout.bench;

import ch.qos.logback.classic.Level;
import io.github.checkout.embedded.EmbeddedInfrastructure;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.common.utils.AppInfoParser;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark of the issue: on one machine, in one run, against a real broker and a real PostgreSQL
 * started in this JVM, the service (tuned, and beside it with its default settings) and its two baselines
 * through seven scenarios, with checks after each.
 * Run it with {@code ./mvnw -q -Pbenchmark test-compile exec:exec}, options in {@code -Dbenchmark.args="..."}.
 */
@Command(name = "benchmark", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measures the service against (a) one place_order call per request from 32 JDBC connections and"
                + " (b) the service with batching off, on an embedded Kafka broker and PostgreSQL.")
public final class Benchmark implements Callable<Integer> {

    @Option(names = "--scenarios", split = ",", defaultValue = "hot,uniform,flash,zipf,cart,hold,latency",
            description = "Scenarios to run, in order (default: ${DEFAULT-VALUE}).")
    List<String> scenarios;

    @Option(names = "--modes", split = ",", defaultValue = "service,default,jdbc,unbatched",
            description = "service (tuned by the options below), default = the service with its default settings (beside"
                    + " the tuned one when both run), jdbc = baseline (a), unbatched = baseline (b) (default: ${DEFAULT-VALUE}).")
    List<String> modes;

    @Option(names = "--requests", split = ",", paramLabel = "SCENARIO=N",
            description = "Requests per scenario, e.g. hot=300000,zipf=50000 (defaults: hot=200000, uniform=100000,"
                    + " flash=50000, zipf=100000, cart=50000 carts, hold=100000 holds; --quick: hot=20000, uniform=10000,"
                    + " flash=10000, zipf=10000, cart=5000, hold=10000).")
    Map<String, Integer> requests = new LinkedHashMap<>();

    @Option(names = "--quick", description = "A smoke run of under two minutes: fewer requests, shorter runs; the"
            + " flash sale then has 10,000 buyers, so its target reads n/a.")
    boolean quick;

    @Option(names = "--out", defaultValue = "target/benchmark", description = "Where results.csv, results.json and"
            + " benchmark.png go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--rate", defaultValue = "5000", description = "Offered requests per second in the latency scenario.")
    int rate;

    @Option(names = "--latency-seconds", description = "Duration of the latency scenario (default 12, --quick 3).")
    Integer latencySeconds;

    @Option(names = "--baseline-seconds", description = "Longest a baseline offers requests in one scenario (default 8, --quick 2).")
    Integer baselineSeconds;

    @Option(names = "--warmup-seconds", description = "Longest the service warms up before it is measured: rounds"
            + " of 20,000 requests (--quick: 2,000) until the JIT is quiet (default 60, --quick 10).")
    Integer warmupSeconds;

    @Option(names = "--window", defaultValue = "5000", description = "Requests in flight at most in the hot, uniform,"
            + " zipf and cart scenarios of the service, holds not yet ended in the hold scenario (the flash sale sends"
            + " every buyer at once).")
    int window;

    @Option(names = "--service-seconds", description = "Longest the service is offered requests in the hot, uniform, zipf,"
            + " cart and hold scenarios, however many are left (default 30, --quick 5).")
    Integer serviceSeconds;

    @Option(names = "--max-records", defaultValue = "2000", description = "checkout.batch.max-records of the service"
            + " (default ${DEFAULT-VALUE}, the service's own default too).")
    int maxRecords;

    @Option(names = "--concurrency", defaultValue = "1", description = "checkout.concurrency: consumer threads"
            + " (default ${DEFAULT-VALUE}: with 2 partitions on 2 cores one consumer beat two; the service's own default is"
            + " one per partition, at most two per processor).")
    int concurrency;

    @Option(names = "--partitions", defaultValue = "2", description = "Partitions of each topic (default ${DEFAULT-VALUE};"
            + " the service's own default is 4).")
    int partitions;

    @Option(names = "--pool-size", defaultValue = "8", description = "Hikari pool size of the service.")
    int poolSize;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the generated requests.")
    long seed;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Benchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        quietLogging();
        PrintStream console = System.out;
        Bench.Plan plan = plan();
        Files.createDirectories(out);

        console.println("Starting an embedded Kafka broker (KRaft) and an embedded PostgreSQL...");
        // The embedded PostgreSQL commits durably (fsync and synchronous_commit on), as in production.
        try (EmbeddedInfrastructure infrastructure = EmbeddedInfrastructure.start();
             SingleConnectionDataSource adminConnection = new SingleConnectionDataSource(
                     infrastructure.jdbcUrl(), infrastructure.username(), infrastructure.password(), true)) {
            JdbcClient admin = JdbcClient.create(adminConnection);
            // Time spent inside the PL/pgSQL functions, for the per-batch breakdown.
            admin.sql("alter system set track_functions = 'pl'").update();
            admin.sql("select pg_reload_conf()").query().singleValue();
            Flyway.configure().dataSource(adminConnection)
                    .placeholders(Map.of("service_role", infrastructure.username())).load().migrate();
            preallocateWal(admin, quick ? 8 : 64, console);

            Map<String, Object> machine = machine(admin);
            Map<String, Object> settings = settings(plan);
            console.println();
            machine.forEach((k, v) -> console.printf("  %-20s %s%n", k, v));
            settings.forEach((k, v) -> console.printf("  %-20s %s%n", k, v));

            var database = new JdbcLoad.Database(infrastructure.jdbcUrl(), infrastructure.username(), infrastructure.password());
            Bench bench = new Bench(infrastructure.springProperties(), database, admin, plan, console);
            List<Result> results = Report.withRatios(bench.run());
            List<Report.Target> targets = Report.targets(results);

            console.println();
            Report.printTable(results, console);
            console.println();
            if (Report.find(results, Scenario.HOT.id(), Mode.DEFAULT).isPresent()) {
                console.println("The service with its default settings (" + describe(bench.defaults()) + ") beside the tuned one ("
                        + describe(plan.tuning()) + "), measured in turn:");
                Report.printDefaults(results, console);
                console.println();
            }
            console.println("Inside the service, per poll batch (decide_purchases time from pg_stat_user_functions,"
                    + " transaction times from the producers' metrics):");
            Report.printBatches(results, console);
            console.println();
            console.println(Report.CPU_NOTE);
            console.println(Report.LATENCY_NOTE);
            console.println(Report.JIT_NOTE);
            console.println(Report.CART_NOTE);
            console.println(Report.HOLD_NOTE);
            console.println();
            console.println("Targets:");
            Report.printTargets(targets, console);

            Report.writeCsv(results, out.resolve("results.csv"));
            if (bench.jvmCosts() != null) {
                settings.put("service JSON costs", String.format(java.util.Locale.ROOT,
                        "%.1f us to read and validate a request, %.1f us to write an outcome (one thread)",
                        bench.jvmCosts().readMicros(), bench.jvmCosts().writeMicros()));
            }
            if (bench.defaults() != null) {
                settings.put("service, defaults", describe(bench.defaults()) + ": nothing set but the connection, its topics and group");
            }
            Report.writeJson(machine, settings, results, targets, out.resolve("results.json"));
            Report.writeChart(results, out.resolve("benchmark.png"));
            console.printf("%nWrote %s, %s and %s%n", out.resolve("results.csv"), out.resolve("results.json"),
                    out.resolve("benchmark.png"));

            boolean passed = bench.warmupsPassed() && results.stream().allMatch(Result::passed);
            console.println(passed ? "All checks PASS." : "Some checks FAILED: see above.");
            return passed ? 0 : 1;
        }
    }

    Bench.Plan plan() {
        Map<Scenario, Integer> counts = new EnumMap<>(Scenario.class);
        counts.put(Scenario.HOT, quick ? 20_000 : 200_000);
        counts.put(Scenario.UNIFORM, quick ? 10_000 : 100_000);
        counts.put(Scenario.FLASH, quick ? 10_000 : 50_000);
        counts.put(Scenario.ZIPF, quick ? 10_000 : 100_000);
        counts.put(Scenario.CART, quick ? 5_000 : 50_000);
        counts.put(Scenario.HOLD, quick ? 10_000 : 100_000);
        requests.forEach((scenario, n) -> counts.put(Scenario.of(scenario), n));
        List<Scenario> chosen = scenarios.stream().map(Scenario::of).toList();
        List<Mode> chosenModes = new ArrayList<>(modes.stream().map(Mode::of).toList());
        var tuning = new ServiceUnderTest.Tuning(maxRecords, concurrency, partitions, poolSize);
        return new Bench.Plan(chosen, chosenModes, counts, 10_000, window, 50, rate,
                Duration.ofSeconds(latencySeconds != null ? latencySeconds : quick ? 3 : 12),
                Duration.ofSeconds(serviceSeconds != null ? serviceSeconds : quick ? 5 : 30),
                Duration.ofSeconds(baselineSeconds != null ? baselineSeconds : quick ? 2 : 8),
                quick ? 2_000 : 20_000, Duration.ofSeconds(warmupSeconds != null ? warmupSeconds : quick ? 10 : 60),
                tuning, seed);
    }

    private static String describe(ServiceUnderTest.Tuning t) {
        return "max-records " + t.maxRecords() + ", concurrency " + t.concurrency() + ", partitions " + t.partitions()
                + ", hikari pool " + t.poolSize();
    }

    private static Map<String, Object> machine(JdbcClient db) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", Runtime.getRuntime().availableProcessors() + " x " + Probes.cpuModel());
        m.put("memory", Math.round(memoryGib()) + " GiB");
        m.put("load average", Probes.loadAverage() + " (at start)");
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        m.put("kafka", AppInfoParser.getVersion() + ", one embedded KRaft broker, replication factor 1");
        m.put("postgresql", db.sql("select current_setting('server_version')").query(String.class).single()
                + " embedded; synchronous_commit=" + db.sql("select current_setting('synchronous_commit')").query(String.class).single()
                + ", fsync=" + db.sql("select current_setting('fsync')").query(String.class).single()
                + ", min_wal_size=" + db.sql("select current_setting('min_wal_size')").query(String.class).single()
                + " (preallocated), max_wal_size=" + db.sql("select current_setting('max_wal_size')").query(String.class).single());
        return m;
    }

    private Map<String, Object> settings(Bench.Plan plan) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("scenarios", plan.scenarios().stream().map(sc -> sc.id() + (sc == Scenario.LATENCY
                ? " (" + plan.latencyRate() + "/s for " + plan.latencyFor().toSeconds() + " s)"
                : " (" + plan.requests(sc) + ")")).toList());
        s.put("modes", plan.modes().stream().map(m -> m.label).toList());
        s.put("service", "max-records " + maxRecords + ", concurrency " + concurrency + ", partitions " + partitions
                + ", hikari pool " + poolSize + ", holds' sweep-batch " + ServiceUnderTest.SWEEP_BATCH
                + "; at most " + window + " requests in flight and "
                + plan.serviceFor().toSeconds() + " s of sending per scenario (flash: all buyers at once)");
        s.put("warm-up", String.format(java.util.Locale.ROOT, "rounds of %,d requests, uniform, hot%s%s%s in turn, until the"
                + " last round of each compiles less than 10%% of its time, at most %d s", plan.warmup(),
                plan.scenarios().contains(Scenario.LATENCY) ? ", at " + plan.latencyRate() + "/s" : "",
                plan.scenarios().contains(Scenario.CART) ? ", carts (a third as many)" : "",
                plan.scenarios().contains(Scenario.HOLD) ? ", holds (half as many)" : "",
                plan.warmupFor().toSeconds()));
        s.put("baselines", "at most " + plan.baselineFor().toSeconds() + " s of requests per scenario; (b) with "
                + plan.unbatchedWindow() + " in flight");
        s.put("load generator", "acks=all, idempotent, linger.ms=5, batch.size=64 KiB; read_committed outcome consumer");
        return s;
    }

    /**
     * A database that has run for a while commits into recycled WAL segments; a fresh cluster creates each
     * new 16 MB segment in the commit path, zero-filled and synced, a stall of tens of milliseconds every
     * few seconds at 5,000 requests per second that production does not see. Switching through as many segments as
     * {@code min_wal_size} keeps, then checkpointing, leaves them ready for reuse. max_wal_size keeps its
     * default, so the checkpoint that volume triggers mid-run still happens.
     */
    private static void preallocateWal(JdbcClient admin, int segments, PrintStream console) {
        admin.sql("alter system set min_wal_size = '" + segments * 16 + "MB'").update();
        admin.sql("select pg_reload_conf()").query().singleValue();
        console.printf("Preallocating %d WAL segments, as a database that has run for a while has them...%n", segments);
        for (int i = 0; i < segments; i++) {
            admin.sql("select pg_switch_wal() from pg_logical_emit_message(false, 'benchmark', 'wal')").query().singleValue();
        }
        admin.sql("checkpoint").update();
    }

    private static double memoryGib() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(0) / 1024.0 / 1024.0;
        } catch (java.io.IOException e) {
            return Double.NaN;
        }
    }

    /** Before Spring configures logging, the in-process broker would log at debug level. */
    private static void quietLogging() {
        if (LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
            root.setLevel(Level.WARN);
            root.getLoggerContext().getLogger("org.apache.kafka").setLevel(Level.ERROR);
            root.getLoggerContext().getLogger("kafka").setLevel(Level.ERROR);
        }
    }
}
