package io.github.checkout.bench;

import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * The figures of one scenario in one mode. {@code requests} counts deliveries (a duplicate is a request of its
 * own and gets an outcome of its own; a cart is one request); {@code perSecond} is requests decided per second
 * from the first request sent to the last outcome seen; {@code lines} and {@code linesPerSecond} count the lines
 * of the requests decided (one per single-item request, 1 to 5 per cart); latencies are in milliseconds; {@code commitsPerRequest} is the database's
 * committed transactions over the run divided by requests; {@code cpuMsPer1000} is the whole machine's busy CPU
 * time per 1,000 requests; {@code jitPercent} is the JIT's compiling time over the run as a share of the run's
 * time (its two compiler threads can take more than 100%); {@code tailSeconds} is the time from the last request
 * produced to the last outcome. In the HOLD scenario a request is a hold, decided when it ended as the client sees
 * it (confirmed: the OrderCreated of its confirmation; left to expire: its StockReserved), {@code orders} counts the
 * confirmed ones, {@code expired} the ReservationExpired seen, and {@code expirySeconds} is the time from the last
 * hold produced to the last ReservationExpired (NaN in the other scenarios).
 * Ratios are requests per second against the baseline in the same scenario, null where there is none.
 */
record Result(String scenario, String mode, int requests, long decided, int distinctKeys, long orders,
              long outOfStock, long rejected, double seconds, double perSecond, long lines, double linesPerSecond,
              double offeredPerSecond,
              double p50Ms, double p95Ms, double p99Ms, double maxMs, double commitsPerRequest,
              double cpuMsPer1000, double jitPercent, double tailSeconds, long expired, double expirySeconds,
              Double vsBaselineA, Double vsBaselineB, List<Checks.Check> checks, Batches batches) {

    /**
     * Inside the service, per poll batch: requests per batch, milliseconds in decide_purchases, microseconds
     * of decide_purchases per request, milliseconds committing the Kafka transaction and adding the offsets to it.
     * Null for baseline (a), which has no batches.
     */
    record Batches(long count, double requestsPerBatch, double databaseMs, double databaseMicrosPerRequest,
                   double commitMs, double sendOffsetsMs) {

        static Batches of(Inside inside, int requests) {
            return new Batches(inside.batches(), inside.batches() == 0 ? Double.NaN : (double) requests / inside.batches(),
                    inside.perBatch(inside.databaseMillis()),
                    requests == 0 ? Double.NaN : inside.databaseMillis() * 1000 / requests,
                    inside.perBatch(inside.commitMillis()), inside.perBatch(inside.sendOffsetsMillis()));
        }
    }


    static Result of(Scenario scenario, Mode mode, Workload workload, Run run, long commits, Inside inside,
                     long compiledMs, List<Checks.Check> checks) {
        Observed o = run.observed();
        Histogram latency = o.latency();
        int requests = run.sent();
        return new Result(scenario.id(), mode.label, requests, o.seen(), workload.distinctKeys(requests), o.created(),
                o.outOfStock(), o.rejected(), run.seconds(), o.seen() / run.seconds(), o.lines(),
                o.lines() / run.seconds(), run.offeredPerSecond(),
                millis(latency, 50), millis(latency, 95), millis(latency, 99), latency.getMaxValue() / 1000.0,
                requests == 0 ? Double.NaN : (double) commits / requests,
                run.cpuMillis() < 0 || requests == 0 ? Double.NaN : run.cpuMillis() * 1000.0 / requests,
                compiledMs / (run.seconds() * 10), run.tailSeconds(), workload.holds() ? o.expired() : 0,
                workload.holds() && o.lastExpiryNanos() != 0
                        ? Math.max(0, o.lastExpiryNanos() - run.lastProducedNanos()) / 1e9 : Double.NaN,
                null, null, List.copyOf(checks),
                mode == Mode.JDBC ? null : Batches.of(inside, requests));
    }

    private static double millis(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    boolean passed() {
        return checks.stream().allMatch(Checks.Check::passed);
    }

    Result withRatios(Double vsA, Double vsB) {
        return new Result(scenario, mode, requests, decided, distinctKeys, orders, outOfStock, rejected, seconds,
                perSecond, lines, linesPerSecond, offeredPerSecond, p50Ms, p95Ms, p99Ms, maxMs, commitsPerRequest, cpuMsPer1000,
                jitPercent, tailSeconds, expired, expirySeconds, vsA, vsB, checks, batches);
    }
}
