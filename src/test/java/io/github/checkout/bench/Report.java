package io.github.checkout.bench;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import java.util.stream.DoubleStream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** The results as a terminal table, {@code results.csv}, {@code results.json} and {@code benchmark.png}, and the targets. */
final class Report {

    /** A target of the issue, as this run shows it. */
    record Target(String target, String status, String shown) {
    }

    static final String CPU_NOTE = "CPU is the whole machine's busy time (/proc/stat: user+nice+system+irq+softirq+steal):"
            + " broker, database, service and load generator together, and anything else running at the time.";
    static final String LATENCY_NOTE = "Latency: request produced to outcome seen by a read_committed consumer (service),"
            + " call to result (baseline a); at a fixed rate from when the request was due. Closed scenarios offer"
            + " every request up front (flash) or keep a window in flight, so their latency includes queueing.";
    static final String CART_NOTE = "Cart: a request is a cart of 1 to 5 lines, so req/s counts carts and lines/s"
            + " their lines; for the single-item scenarios the two are the same.";
    static final String HOLD_NOTE = "Hold: a request is a hold on one item, 80% confirmed as soon as its StockReserved is"
            + " seen and 20% left to expire (holdFor PT1S); req/s counts holds brought to their end (confirmed: the"
            + " confirmation's OrderCreated seen; left to expire: the StockReserved seen) over the wall time. Service modes only.";
    static final String JIT_NOTE = "JIT %: time the JIT spent compiling during the run, as a share of the run's time."
            + " Broker, service and load generator share one JVM, whose JIT on two cores is still busy after the warm-up.";

    private Report() {
    }

    /** Fills in each result's ratio of requests per second against the baselines in the same scenario. */
    static List<Result> withRatios(List<Result> results) {
        List<Result> out = new ArrayList<>();
        for (Result r : results) {
            out.add(r.withRatios(ratio(results, r, Mode.JDBC), ratio(results, r, Mode.UNBATCHED)));
        }
        return out;
    }

    private static Double ratio(List<Result> results, Result r, Mode baseline) {
        if (r.mode().equals(baseline.label) || r.scenario().equals(Scenario.LATENCY.id())) {
            return null;
        }
        return find(results, r.scenario(), baseline).map(b -> r.perSecond() / b.perSecond()).orElse(null);
    }

    static Optional<Result> find(List<Result> results, String scenario, Mode mode) {
        return results.stream().filter(r -> r.scenario().equals(scenario) && r.mode().equals(mode.label)).findFirst();
    }

    static void printTable(List<Result> results, PrintStream out) {
        String format = "%-8s %-18s %9s %9s %9s %8s %8s %8s %9s %9s %5s %7s %7s  %s%n";
        String header = String.format(Locale.ROOT, format, "scenario", "mode", "requests", "req/s", "lines/s", "p50 ms",
                "p95 ms", "p99 ms", "commit/rq", "CPU ms/1k", "JIT %", "vs (a)", "vs (b)", "checks");
        out.print(header);
        out.println("-".repeat(header.length() - 1));
        for (Result r : results) {
            out.printf(Locale.ROOT, format, r.scenario(), r.mode(), String.format(Locale.ROOT, "%,d", r.requests()),
                    String.format(Locale.ROOT, "%,.0f", r.perSecond()),
                    String.format(Locale.ROOT, "%,.0f", r.linesPerSecond()), ms(r.p50Ms()), ms(r.p95Ms()), ms(r.p99Ms()),
                    String.format(Locale.ROOT, "%.4f", r.commitsPerRequest()),
                    String.format(Locale.ROOT, "%.1f", r.cpuMsPer1000()),
                    String.format(Locale.ROOT, "%.0f", r.jitPercent()), times(r.vsBaselineA()),
                    times(r.vsBaselineB()), r.passed() ? "PASS" : "FAIL");
        }
    }

    /** Cart lines per second against the uniform scenario's requests per second: at least this share. */
    static final double CART_LINES_SHARE = 0.5;

    /** Holds per second against the uniform scenario's requests per second: at least this share. */
    static final double HOLDS_SHARE = 0.5;

    /** How close an unconfigured service comes to the tuned one: at least this share of its requests per second. */
    static final double DEFAULTS_WITHIN = 0.9;

    /**
     * The service with its default settings beside the tuned one, scenario by scenario: requests per second, their
     * ratio, and whether it is within 10%; p99 beside it. At a fixed rate both decide what is offered, so there the
     * ratio says nothing and p99 is what to compare.
     */
    static void printDefaults(List<Result> results, PrintStream out) {
        String format = "%-8s %12s %14s %14s %10s %12s %13s%n";
        String header = String.format(Locale.ROOT, format, "scenario", "tuned req/s", "default req/s", "default/tuned",
                "within 10%", "tuned p99 ms", "default p99 ms");
        out.print(header);
        out.println("-".repeat(header.length() - 1));
        for (Result tuned : results) {
            if (!tuned.mode().equals(Mode.SERVICE.label)) {
                continue;
            }
            find(results, tuned.scenario(), Mode.DEFAULT).ifPresent(defaults -> {
                boolean paced = tuned.scenario().equals(Scenario.LATENCY.id());
                double ratio = defaults.perSecond() / tuned.perSecond();
                out.printf(Locale.ROOT, format, tuned.scenario(), String.format(Locale.ROOT, "%,.0f", tuned.perSecond()),
                        String.format(Locale.ROOT, "%,.0f", defaults.perSecond()), String.format(Locale.ROOT, "%.2f", ratio),
                        paced ? "n/a" : ratio >= DEFAULTS_WITHIN ? "yes" : "NO", ms(tuned.p99Ms()), ms(defaults.p99Ms()));
            });
        }
    }

    /** Inside the service, per poll batch, for the modes that have batches. */
    static void printBatches(List<Result> results, PrintStream out) {
        String format = "%-8s %-18s %9s %9s %12s %12s %12s %14s%n";
        String header = String.format(Locale.ROOT, format, "scenario", "mode", "batches", "req/batch",
                "db ms/batch", "db us/req", "commit ms/b", "offsets ms/b");
        out.print(header);
        out.println("-".repeat(header.length() - 1));
        for (Result r : results) {
            Result.Batches b = r.batches();
            if (b == null) {
                continue;
            }
            out.printf(Locale.ROOT, format, r.scenario(), r.mode(), String.format(Locale.ROOT, "%,d", b.count()),
                    fixed(b.requestsPerBatch(), 1), fixed(b.databaseMs(), 2), fixed(b.databaseMicrosPerRequest(), 1),
                    fixed(b.commitMs(), 2), fixed(b.sendOffsetsMs(), 2));
        }
    }

    private static String fixed(double v, int decimals) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }

    static void printTargets(List<Target> targets, PrintStream out) {
        for (Target t : targets) {
            out.printf("  %-7s %s%n          %s%n", t.status(), t.target(), t.shown());
        }
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, v < 10 ? "%.2f" : v < 1000 ? "%.1f" : "%,.0f", v);
    }

    private static String times(Double v) {
        return v == null ? "-" : String.format(Locale.ROOT, v < 1 ? "%.2fx" : "%.1fx", v);
    }

    static List<Target> targets(List<Result> results) {
        List<Target> targets = new ArrayList<>();
        Optional<Result> hot = find(results, Scenario.HOT.id(), Mode.SERVICE);
        targets.add(hot.map(r -> new Target("hot item: >= 20,000 requests decided per second end to end",
                        status(r.perSecond() >= 20_000 && r.passed()), String.format(Locale.ROOT, "%,.0f req/s", r.perSecond())))
                .orElse(notRun("hot item: >= 20,000 requests decided per second end to end")));
        targets.add(hot.filter(r -> r.vsBaselineA() != null)
                .map(r -> new Target("hot item: >= 8 x baseline (a) in the same run", status(r.vsBaselineA() >= 8),
                        String.format(Locale.ROOT, "%.1f x (%,.0f vs %,.0f req/s)", r.vsBaselineA(), r.perSecond(),
                                r.perSecond() / r.vsBaselineA())))
                .orElse(notRun("hot item: >= 8 x baseline (a) in the same run")));
        String defaultsTarget = "hot item: default settings within 10% of the tuned ones in the same run";
        targets.add(hot.flatMap(tuned -> find(results, Scenario.HOT.id(), Mode.DEFAULT)
                        .map(defaults -> new Target(defaultsTarget,
                                status(defaults.perSecond() >= DEFAULTS_WITHIN * tuned.perSecond() && defaults.passed()),
                                String.format(Locale.ROOT, "%.2f x (%,.0f vs %,.0f req/s)", defaults.perSecond() / tuned.perSecond(),
                                        defaults.perSecond(), tuned.perSecond()))))
                .orElse(notRun(defaultsTarget)));
        String flashTarget = "flash sale: all 50,000 requests decided, exactly 100 orders, < 5 s after the last is produced";
        targets.add(find(results, Scenario.FLASH.id(), Mode.SERVICE)
                .map(r -> new Target(flashTarget,
                        r.requests() != 50_000 ? "n/a"
                                : status(r.decided() == r.requests() && r.orders() == 100 && r.tailSeconds() < 5 && r.passed()),
                        String.format(Locale.ROOT, "%,d of %,d decided, %d orders, last outcome %.2f s after the last request produced%s",
                                r.decided(), r.requests(), r.orders(), r.tailSeconds(),
                                r.requests() != 50_000 ? " (this run had another buyer count)" : "")))
                .orElse(notRun(flashTarget)));
        String cartTarget = "carts: >= 0.5 x the lines per second of the uniform single-item scenario in the same run";
        targets.add(find(results, Scenario.CART.id(), Mode.SERVICE)
                .flatMap(cart -> find(results, Scenario.UNIFORM.id(), Mode.SERVICE).map(uniform -> {
                    double ratio = cart.linesPerSecond() / uniform.perSecond();
                    return new Target(cartTarget, status(ratio >= CART_LINES_SHARE && cart.passed()),
                            String.format(Locale.ROOT, "%.2f x: %,.0f cart lines/s (%,.0f carts/s, %.2f lines each) vs"
                                            + " %,.0f uniform req/s; carts: %,d orders, %,d out of stock, %,d rejected",
                                    ratio, cart.linesPerSecond(), cart.perSecond(), (double) cart.lines() / cart.decided(),
                                    uniform.perSecond(), cart.orders(), cart.outOfStock(), cart.rejected()));
                }))
                .orElse(notRun(cartTarget)));
        String holdTarget = "holds: >= 0.5 x the requests per second of the uniform single-item scenario in the same run";
        targets.add(find(results, Scenario.HOLD.id(), Mode.SERVICE)
                .flatMap(hold -> find(results, Scenario.UNIFORM.id(), Mode.SERVICE).map(uniform -> {
                    double ratio = hold.perSecond() / uniform.perSecond();
                    return new Target(holdTarget, status(ratio >= HOLDS_SHARE && hold.passed()),
                            String.format(Locale.ROOT, "%.2f x: %,.0f holds/s vs %,.0f uniform req/s; %,d holds: %,d confirmed,"
                                            + " %,d expired, every expiry announced %.1f s after the last hold was placed;"
                                            + " baselines (a) and (b) skip holds",
                                    ratio, hold.perSecond(), uniform.perSecond(), hold.decided(), hold.orders(),
                                    hold.expired(), hold.expirySeconds()));
                }))
                .orElse(notRun(holdTarget)));
        String latencyTarget = "p99 end-to-end latency < 100 ms at 5,000 requests per second offered";
        targets.add(find(results, Scenario.LATENCY.id(), Mode.SERVICE)
                .map(r -> new Target(latencyTarget,
                        Math.abs(r.offeredPerSecond() - 5_000) > 250 ? "n/a" : status(r.p99Ms() < 100 && r.passed()),
                        String.format(Locale.ROOT, "p99 %.1f ms (p50 %.1f, p95 %.1f, max %.1f) at %,.0f req/s offered",
                                r.p99Ms(), r.p50Ms(), r.p95Ms(), r.maxMs(), r.offeredPerSecond())))
                .orElse(notRun(latencyTarget)));
        return targets;
    }

    private static String status(boolean met) {
        return met ? "MET" : "NOT MET";
    }

    private static Target notRun(String target) {
        return new Target(target, "not run", "the scenario or the baseline it needs was not part of this run");
    }

    static void writeCsv(List<Result> results, Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("scenario,mode,requests,decided,distinct_keys,orders,out_of_stock,rejected,seconds,req_per_s,"
                + "lines,lines_per_s,offered_per_s,p50_ms,p95_ms,p99_ms,max_ms,commits_per_request,cpu_ms_per_1000,jit_percent,tail_s,"
                + "expired,expiry_s,"
                + "vs_baseline_a,vs_baseline_b,checks,batches,requests_per_batch,db_ms_per_batch,db_us_per_request,"
                + "commit_ms_per_batch,send_offsets_ms_per_batch");
        for (Result r : results) {
            lines.add(String.join(",", r.scenario(), "\"" + r.mode() + "\"", String.valueOf(r.requests()),
                    String.valueOf(r.decided()), String.valueOf(r.distinctKeys()), String.valueOf(r.orders()),
                    String.valueOf(r.outOfStock()), String.valueOf(r.rejected()), num(r.seconds()), num(r.perSecond()),
                    String.valueOf(r.lines()), num(r.linesPerSecond()), num(r.offeredPerSecond()), num(r.p50Ms()), num(r.p95Ms()), num(r.p99Ms()), num(r.maxMs()),
                    num(r.commitsPerRequest()), num(r.cpuMsPer1000()), num(r.jitPercent()), num(r.tailSeconds()),
                    String.valueOf(r.expired()), num(r.expirySeconds()),
                    r.vsBaselineA() == null ? "" : num(r.vsBaselineA()), r.vsBaselineB() == null ? "" : num(r.vsBaselineB()),
                    r.passed() ? "PASS" : "FAIL",
                    r.batches() == null ? "" : String.valueOf(r.batches().count()),
                    r.batches() == null ? "" : num(r.batches().requestsPerBatch()),
                    r.batches() == null ? "" : num(r.batches().databaseMs()),
                    r.batches() == null ? "" : num(r.batches().databaseMicrosPerRequest()),
                    r.batches() == null ? "" : num(r.batches().commitMs()),
                    r.batches() == null ? "" : num(r.batches().sendOffsetsMs())));
        }
        Files.write(file, lines);
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    static void writeJson(Map<String, Object> machine, Map<String, Object> settings, List<Result> results,
                          List<Target> targets, Path file) {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("machine", machine);
        document.put("settings", settings);
        document.put("notes", List.of(CPU_NOTE, LATENCY_NOTE, JIT_NOTE, CART_NOTE, HOLD_NOTE));
        document.put("results", results);
        document.put("targets", targets);
        JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build().writeValue(file.toFile(), document);
    }

    /** Two panels: requests per second per scenario and mode; p50/p95/p99 per scenario and mode. Both logarithmic. */
    static void writeChart(List<Result> results, Path file) throws IOException {
        List<String> scenarios = results.stream().map(Result::scenario).distinct().toList();
        List<String> modes = results.stream().map(Result::mode).distinct().toList();

        CategoryChart throughput = new CategoryChartBuilder().width(1200).height(520)
                .title("Requests decided per second (log scale)").xAxisTitle("scenario").yAxisTitle("requests / s").build();
        style(throughput);
        throughput.getStyler().setDecimalPattern("#,##0");
        throughput.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        for (String mode : modes) {
            List<Double> values = new ArrayList<>();
            for (String scenario : scenarios) {
                values.add(results.stream().filter(r -> r.scenario().equals(scenario) && r.mode().equals(mode))
                        .map(Result::perSecond).filter(v -> v > 0).findFirst().orElse(null));
            }
            throughput.addSeries(mode, scenarios, values);
        }

        List<String> runs = results.stream().map(r -> r.scenario() + " " + shortLabel(r.mode())).toList();
        CategoryChart latency = new CategoryChartBuilder().width(1200).height(520)
                .title("End-to-end latency p50 / p95 / p99, ms (log scale)")
                .xAxisTitle("scenario and mode: svc = service, def = service with default settings, (a) = 32 JDBC calls,"
                        + " (b) = batching off").yAxisTitle("ms").build();
        style(latency);
        // Three bars per run are too narrow for their values; the table and the files have them.
        latency.getStyler().setLabelsVisible(false);
        latency.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        addLatency(latency, "p50", runs, results, Result::p50Ms);
        addLatency(latency, "p95", runs, results, Result::p95Ms);
        addLatency(latency, "p99", runs, results, Result::p99Ms);

        logRange(throughput, results.stream().mapToDouble(Result::perSecond));
        logRange(latency, results.stream().flatMapToDouble(r -> DoubleStream.of(r.p50Ms(), r.p95Ms(), r.p99Ms())));
        BitmapEncoder.saveBitmap(List.of(throughput, latency), 2, 1, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** A log axis from the power of ten below the smallest value to the one above the largest (bars need a floor). */
    private static void logRange(CategoryChart chart, DoubleStream values) {
        double[] v = values.filter(x -> !Double.isNaN(x) && x > 0).toArray();
        double min = Arrays.stream(v).min().orElse(1);
        double max = Arrays.stream(v).max().orElse(10);
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(Math.max(0.01, min)))));
        chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(max * 1.5))));
    }

    private static String shortLabel(String mode) {
        return mode.equals(Mode.SERVICE.label) ? "svc" : mode.equals(Mode.DEFAULT.label) ? "def" : mode.substring(0, 3);
    }

    private static void addLatency(CategoryChart chart, String name, List<String> runs, List<Result> results,
                                   ToDoubleFunction<Result> value) {
        // A log axis has no zero: a latency under 0.01 ms is drawn at 0.01 ms.
        chart.addSeries(name, runs, results.stream().map(r -> Math.max(0.01, value.applyAsDouble(r))).toList());
    }

    private static void style(CategoryChart chart) {
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        chart.getStyler().setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        chart.getStyler().setDecimalPattern("#,##0.#");
    }
}
