package io.github.checkout.bench;

import java.io.PrintStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Runs the plan: for each mode, each scenario on fresh items and keys, with the cost counters read around
 * it and the checks after it. The service modes each get an instance of their own, started for the mode and
 * closed before the next one starts; the service with its default settings runs beside the tuned one.
 */
final class Bench {

    /**
     * What to run. {@code requests} per scenario is the whole run for the service, unless offering them takes
     * longer than {@code serviceFor}; the baselines take the same requests in the same order but stop offering
     * more after {@code baselineFor}. The flash sale always offers all its buyers. The latency scenario offers
     * {@code latencyRate} requests per second for {@code latencyFor}. Each mode first warms up with rounds of
     * {@code warmup} requests; the service's rounds go on while the JIT is still busy, up to {@code warmupFor}.
     */
    record Plan(List<Scenario> scenarios, List<Mode> modes, Map<Scenario, Integer> requests, int items,
                int window, int unbatchedWindow, int latencyRate, Duration latencyFor, Duration serviceFor,
                Duration baselineFor, int warmup, Duration warmupFor, ServiceUnderTest.Tuning tuning, long seed) {

        int requests(Scenario scenario) {
            return scenario == Scenario.LATENCY
                    ? (int) (latencyRate * latencyFor.toMillis() / 1000)
                    : Objects.requireNonNull(requests.get(scenario), () -> "no request count for " + scenario.id());
        }

        /**
         * Baseline (b) cannot keep up with any fixed rate worth measuring, so it skips the latency scenario; holds
         * are measured for the service alone, so both baselines skip them.
         */
        boolean runs(Mode mode, Scenario scenario) {
            return skipped(mode, scenario) == null;
        }

        /** Why the mode skips the scenario, null when it runs it. */
        String skipped(Mode mode, Scenario scenario) {
            if (mode == Mode.UNBATCHED && scenario == Scenario.LATENCY) {
                return "baseline (b) cannot sustain the offered rate";
            }
            if ((mode == Mode.JDBC || mode == Mode.UNBATCHED) && scenario == Scenario.HOLD) {
                return "holds are measured for the service only";
            }
            return null;
        }
    }

    private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();

    private final Map<String, Object> infrastructure;
    private final JdbcLoad.Database database;
    private final JdbcClient admin;
    private final Plan plan;
    private final PrintStream out;
    private final String runId = UUID.randomUUID().toString().substring(0, 8);
    private boolean warmupsPassed = true;
    private ServiceUnderTest.Tuning defaults;
    private ServiceUnderTest.JvmCosts jvmCosts;

    Bench(Map<String, Object> infrastructure, JdbcLoad.Database database, JdbcClient admin, Plan plan, PrintStream out) {
        this.infrastructure = infrastructure;
        this.database = database;
        this.admin = admin;
        this.plan = plan;
        this.out = out;
    }

    List<Result> run() throws Exception {
        List<Result> results = new ArrayList<>();
        // With the tuned service in the plan, the default settings are measured beside it, scenario by scenario.
        boolean paired = plan.modes().contains(Mode.SERVICE) && plan.modes().contains(Mode.DEFAULT);
        for (Mode mode : plan.modes()) {
            if (plan.scenarios().stream().noneMatch(s -> plan.runs(mode, s)) || (paired && mode == Mode.DEFAULT)) {
                continue;
            }
            out.printf("%n== %s ==%n", describe(mode));
            if (mode == Mode.JDBC) {
                runScenarios(List.of(new Subject(mode, null)), results);
                continue;
            }
            try (ServiceUnderTest service = start(mode)) {
                if (jvmCosts == null) {
                    jvmCosts = service.jvmCosts(Workload.generate(Scenario.UNIFORM, 1_000, 100, "jvm-", plan.seed()));
                    out.printf("  in the service's JVM, per request: %.1f us to read and validate it, %.1f us to write its outcome as JSON%n",
                            jvmCosts.readMicros(), jvmCosts.writeMicros());
                }
                if (mode == Mode.SERVICE && paired) {
                    out.printf("== beside it, %s ==%n", describe(Mode.DEFAULT));
                    try (ServiceUnderTest defaults = start(Mode.DEFAULT)) {
                        runScenarios(List.of(new Subject(mode, service), new Subject(Mode.DEFAULT, defaults)), results);
                    }
                } else {
                    runScenarios(List.of(new Subject(mode, service)), results);
                }
            }
        }
        results.sort(Comparator.comparingInt((Result r) -> plan.modes().indexOf(Mode.ofLabel(r.mode())))
                .thenComparingInt(r -> plan.scenarios().indexOf(Scenario.of(r.scenario()))));
        return results;
    }

    /** Who is measured, and the instance of the service that decides, null for baseline (a). */
    private record Subject(Mode mode, ServiceUnderTest service) {
    }

    private ServiceUnderTest start(Mode mode) {
        ServiceUnderTest.Tuning tuning = switch (mode) {
            case SERVICE -> plan.tuning();
            case UNBATCHED -> plan.tuning().unbatched();
            default -> null;
        };
        ServiceUnderTest service = ServiceUnderTest.start("bench-" + runId + "-" + mode.id, infrastructure, tuning);
        ServiceUnderTest.Tuning runs = service.tuning();
        out.printf("started the service%s (max-records %d, concurrency %d, partitions %d, pool %d)%n",
                tuning == null ? " with its default settings" : "", runs.maxRecords(), runs.concurrency(),
                runs.partitions(), runs.poolSize());
        if (tuning == null) {
            defaults = runs;
        }
        return service;
    }

    /** The settings the service with default settings resolved on this machine; null when it did not run. */
    ServiceUnderTest.Tuning defaults() {
        return defaults;
    }

    /** The service's per-request JSON costs, measured once; null when no service mode ran. */
    ServiceUnderTest.JvmCosts jvmCosts() {
        return jvmCosts;
    }

    /** Whether the checks after every warm-up passed too; warm-ups are not reported otherwise. */
    boolean warmupsPassed() {
        return warmupsPassed;
    }

    /**
     * Warms each subject up, then measures them scenario by scenario. Two subjects take turns, the one that goes
     * first changing from scenario to scenario, so that neither always meets the JIT further along; the second
     * shares the first one's compiled code, so its warm-up is a third as long.
     */
    private void runScenarios(List<Subject> subjects, List<Result> results) throws Exception {
        for (int i = 0; i < subjects.size(); i++) {
            Mode mode = subjects.get(i).mode();
            int warmup = switch (mode) {
                case SERVICE, DEFAULT -> plan.warmup();
                case JDBC -> Math.min(plan.warmup(), 2_000);
                case UNBATCHED -> Math.min(plan.warmup(), 200);
            };
            if (warmup > 0) {
                warmUp(mode, subjects.get(i).service(), warmup, i == 0 ? plan.warmupFor() : plan.warmupFor().dividedBy(3));
            }
        }
        for (int s = 0; s < plan.scenarios().size(); s++) {
            Scenario scenario = plan.scenarios().get(s);
            List<Subject> turn = new ArrayList<>(subjects);
            if (s % 2 == 0) {
                Collections.reverse(turn);
            }
            for (Subject subject : turn) {
                Mode mode = subject.mode();
                String who = subjects.size() > 1 ? String.format("%-18s ", mode.label) : "";
                if (!plan.runs(mode, scenario)) {
                    out.printf("  %-8s %sskipped: %s%n", scenario.id(), who, plan.skipped(mode, scenario));
                    continue;
                }
                Result result = measure(mode, scenario, subject.service(), plan.requests(scenario), plan.items(), scenario.id());
                results.add(result);
                out.printf("  %-8s %s%,9d requests  %,9.0f req/s  p50 %7.1f  p99 %8.1f ms  %.4f commits/req  %s%n",
                        scenario.id(), who, result.requests(), result.perSecond(), result.p50Ms(), result.p99Ms(),
                        result.commitsPerRequest(), result.passed() ? "checks PASS" : "checks FAIL");
                if (scenario == Scenario.FLASH) {
                    out.printf("           %,d orders; last outcome %.2f s after the last request was produced%n",
                            result.orders(), result.tailSeconds());
                }
                if (scenario == Scenario.CART) {
                    out.printf("           %,d lines, %,.0f lines/s; %,d orders, %,d out of stock, %,d rejected%n",
                            result.lines(), result.linesPerSecond(), result.orders(), result.outOfStock(), result.rejected());
                }
                if (scenario == Scenario.HOLD) {
                    out.printf("           holds/s = req/s; %,d confirmed, %,d expired (all announced %.1f s after the last hold was placed)%n",
                            result.orders(), result.expired(), result.expirySeconds());
                }
                result.checks().stream().filter(c -> !c.passed()).forEach(c -> out.println("           " + c));
            }
        }
    }

    /**
     * Rounds of requests in the shapes the plan measures, in turn: uniform and hot with a window in flight, at
     * the latency scenario's fixed rate when the plan has it, and carts and holds when the plan has them. The service's rounds go on until the last round
     * of every shape spent less than a tenth of its time in the JIT, or {@code warmupFor} has passed; a baseline
     * has one round. Measuring while the optimizing compiler still takes a good part of one of the two cores
     * measures the JIT; the latency scenario's small batches and many small produce requests run code that the
     * other two shapes hardly touch.
     */
    private void warmUp(Mode mode, ServiceUnderTest service, int requests, Duration warmupFor) throws Exception {
        List<Scenario> shapes = new ArrayList<>(List.of(Scenario.UNIFORM, Scenario.HOT));
        if (plan.scenarios().contains(Scenario.LATENCY) && plan.runs(mode, Scenario.LATENCY)) {
            shapes.add(Scenario.LATENCY);
        }
        if (plan.scenarios().contains(Scenario.CART)) {
            shapes.add(Scenario.CART);
        }
        if (plan.scenarios().contains(Scenario.HOLD) && plan.runs(mode, Scenario.HOLD)) {
            shapes.add(Scenario.HOLD);
        }
        Map<Scenario, Double> lastCompiling = new EnumMap<>(Scenario.class);
        long deadline = System.nanoTime() + warmupFor.toNanos();
        for (int round = 1; ; round++) {
            Scenario scenario = shapes.get((round - 1) % shapes.size());
            // A cart has 3 lines on average: a third as many carts make a round of about as many lines. A hold is
            // about two requests (80% are confirmed): half as many.
            int size = switch (scenario) {
                case CART -> requests / 3;
                case HOLD -> requests / 2;
                default -> requests;
            };
            Result result = measure(mode, scenario, service, size,
                    Math.min(plan.items(), 1_000), "warm-up-" + round);
            out.printf("  warm-up %d%s: %,d %s requests, JIT compiling %.0f%% of the time, %s%n", round,
                    mode == Mode.DEFAULT ? " (defaults)" : "", result.requests(),
                    scenario == Scenario.LATENCY ? "paced" : scenario.id(), result.jitPercent(),
                    result.passed() ? "checks PASS" : "checks FAIL");
            result.checks().stream().filter(c -> !c.passed()).forEach(c -> out.println("           " + c));
            warmupsPassed &= result.passed();
            lastCompiling.put(scenario, result.jitPercent());
            boolean settled = (mode != Mode.SERVICE && mode != Mode.DEFAULT)
                    || (lastCompiling.size() == shapes.size() && lastCompiling.values().stream().allMatch(p -> p < 10));
            if (settled || System.nanoTime() > deadline) {
                return;
            }
        }
    }

    private Result measure(Mode mode, Scenario scenario, ServiceUnderTest service, int requests, int items, String label)
            throws Exception {
        String prefix = runId + "-" + mode.id + "-" + label + "-";
        Workload workload = Workload.generate(scenario, requests, items, prefix, plan.seed() + scenario.ordinal());
        workload.provision(admin);

        long commitsBefore = committed(service);
        Inside insideBefore = Inside.read(admin);
        long compiledBefore = JIT.getTotalCompilationTime();
        Run run;
        try (ProgressBar progress = progressBar(label + " / " + mode.label, workload.deliveries())) {
            run = switch (mode) {
                case SERVICE, DEFAULT, UNBATCHED -> KafkaLoad.run((String) infrastructure.get("spring.kafka.bootstrap-servers"),
                        service, workload, pacing(mode, scenario), progress);
                case JDBC -> JdbcLoad.run(database, workload, JdbcLoad.THREADS,
                        scenario == Scenario.LATENCY ? plan.latencyRate() : 0,
                        scenario == Scenario.LATENCY ? plan.latencyFor() : plan.baselineFor(), progress);
            };
        }
        long compiledMs = JIT.getTotalCompilationTime() - compiledBefore;
        long commits = committed(service) - commitsBefore;
        Inside inside = Inside.read(admin).minus(insideBefore);
        return Result.of(scenario, mode, workload, run, commits, inside, compiledMs, Checks.verify(admin, workload, run));
    }

    private KafkaLoad.Pacing pacing(Mode mode, Scenario scenario) {
        if (scenario == Scenario.LATENCY) {
            return new KafkaLoad.Pacing(0, plan.latencyRate(), plan.latencyFor());
        }
        if (mode == Mode.UNBATCHED) {
            return new KafkaLoad.Pacing(plan.unbatchedWindow(), 0, plan.baselineFor());
        }
        // The flash sale is a burst: every buyer at once.
        return scenario == Scenario.FLASH
                ? new KafkaLoad.Pacing(0, 0, null)
                : new KafkaLoad.Pacing(plan.window(), 0, plan.serviceFor());
    }

    private long committed(ServiceUnderTest service) {
        if (service != null) {
            service.flushDatabaseStatistics();
        }
        return Probes.committedTransactions(admin);
    }

    private String describe(Mode mode) {
        return switch (mode) {
            case SERVICE -> "service: one decide_purchases call and one Kafka transaction per poll batch";
            case DEFAULT -> "the service with its default settings: nothing set but the connection (and its own topics and group)";
            case JDBC -> "baseline (a): one place_order call per request from " + JdbcLoad.THREADS
                    + " JDBC connections, at most " + plan.baselineFor().toSeconds() + " s per scenario";
            case UNBATCHED -> "baseline (b): the service with checkout.batch.max-records=1, at most "
                    + plan.unbatchedWindow() + " requests in flight, at most " + plan.baselineFor().toSeconds()
                    + " s of sending per scenario";
        };
    }

    private static ProgressBar progressBar(String task, long max) {
        return new ProgressBarBuilder()
                .setTaskName(String.format("%-24s", task))
                .setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setUnit(" req", 1)
                .showSpeed()
                .build();
    }
}
