package io.github.checkout.bench;

/**
 * The raw timings of one run. Nanosecond values are {@link System#nanoTime()} readings: the first request
 * offered, the last request produced (acknowledged by the broker, or returned by the database for the
 * synchronous baseline), and the last outcome seen. {@code cpuMillis} is the machine's busy CPU time from the
 * first request to the last outcome (see {@link Probes#machineBusyMillis()}), -1 where it cannot be read.
 */
record Run(Observed observed, int sent, long firstSentNanos, long lastProducedNanos, long lastSeenNanos,
           long sendErrors, double offeredPerSecond, boolean complete, long cpuMillis) {

    double seconds() {
        return Math.max(1, lastSeenNanos - firstSentNanos) / 1e9;
    }

    /** Time from the last request produced to the last outcome seen. */
    double tailSeconds() {
        return Math.max(0, lastSeenNanos - lastProducedNanos) / 1e9;
    }
}
