package io.github.checkout.messaging;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.request.Answer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.stereotype.Component;

/**
 * The meters of the decision path, per {@code path} (purchase, refund, reservation): answers by outcome, error code and
 * whether replayed, dead letters by reason, batch sizes, Kafka commit times and end-to-end latency.
 *
 * <p>A batch is counted when, and only when, its Kafka transaction commits: the listener thread tallies it
 * in a {@link Batch}, and the transactional producer's commit on that same thread adds the tally to the
 * meters. A batch that rolls back (a broker outage, a crash, a dead letter refused as too large) is counted
 * by the try that commits, once; answered then from the stored decisions, its answers count as replayed.
 */
@Component
public class Metrics {

    public static final String PURCHASE = "purchase";
    public static final String REFUND = "refund";
    public static final String RESERVATION = "reservation";
    static final String NONE = "none";

    private final MeterRegistry registry;
    private final Map<String, PathMeters> paths = new HashMap<>();
    private final Map<Decision, Counter> decisions = new ConcurrentHashMap<>();
    private final Map<DeadLetter, Counter> deadLetters = new ConcurrentHashMap<>();
    /** The batch whose transaction this consumer thread commits next, once its listener returned. */
    private final ThreadLocal<Batch> committing = new ThreadLocal<>();

    Metrics(MeterRegistry registry, CheckoutProperties properties) {
        this.registry = registry;
        for (String path : List.of(PURCHASE, REFUND, RESERVATION)) {
            paths.put(path, new PathMeters(registry, path, properties.batch().maxRecords()));
            // Every reason from the start, so that a dashboard shows no dead letters as 0.
            for (RequestReader.Reason reason : RequestReader.Reason.values()) {
                deadLetterCounter(new DeadLetter(path, reason.code));
            }
            deadLetterCounter(new DeadLetter(path, BatchProcessor.UNDECIDABLE));
        }
    }

    /** A new tally for one poll batch of {@code path}; a batch of this thread still waiting was never committed. */
    Batch batch(String path, List<ConsumerRecord<byte[], byte[]>> records) {
        PathMeters meters = paths.get(path);
        if (meters == null) {
            throw new IllegalArgumentException("no such path: " + path);
        }
        committing.remove();
        long[] timestamps = new long[records.size()];
        for (int i = 0; i < timestamps.length; i++) {
            timestamps[i] = records.get(i).timestamp();
        }
        return new Batch(path, meters, timestamps);
    }

    /** The transactional producer of this thread committed: the batch waiting for it is counted. */
    public void committed(long nanos) {
        Batch batch = committing.get();
        if (batch != null) {
            committing.remove();
            batch.count(nanos);
        }
    }

    /** The transaction of this thread was aborted: the batch waiting for it is never counted. */
    public void aborted() {
        committing.remove();
    }

    private Counter deadLetterCounter(DeadLetter key) {
        return deadLetters.computeIfAbsent(key, k -> Counter.builder("checkout.dead.letters")
                .description("Requests sent to a dead-letter topic, counted when their Kafka transaction commits")
                .tag("path", k.path()).tag("reason", k.reason())
                .register(registry));
    }

    private Counter decisionCounter(Decision key) {
        return decisions.computeIfAbsent(key, k -> Counter.builder("checkout.decisions")
                .description("Requests answered, counted when their outcome's Kafka transaction commits")
                .tag("path", k.path())
                .tag("outcome", k.kind().toLowerCase(Locale.ROOT))
                .tag("error_code", k.errorCode() == null ? NONE : k.errorCode())
                .tag("replayed", String.valueOf(k.replayed()))
                .register(registry));
    }

    /** One poll batch as the listener thread saw it, counted when its transaction commits. Not thread-safe. */
    final class Batch {

        private final String path;
        private final PathMeters meters;
        private final long[] timestamps;
        private final Map<Decision, int[]> answers = new HashMap<>();
        private final Map<String, int[]> deadLettered = new HashMap<>();

        private Batch(String path, PathMeters meters, long[] timestamps) {
            this.path = path;
            this.meters = meters;
            this.timestamps = timestamps;
        }

        void deadLettered(String reason, int count) {
            if (count > 0) {
                deadLettered.computeIfAbsent(reason, r -> new int[1])[0] += count;
            }
        }

        void answered(List<? extends Answer<?>> answered) {
            for (Answer<?> answer : answered) {
                answers.computeIfAbsent(new Decision(path, answer.kind(), answer.errorCode(), answer.replayed()),
                        d -> new int[1])[0]++;
            }
        }

        /** Counts this batch when this thread's transactional producer next commits, replacing any batch not yet counted. */
        void countOnCommit() {
            committing.set(this);
        }

        private void count(long commitNanos) {
            meters.commit.record(commitNanos, TimeUnit.NANOSECONDS);
            meters.batchSize.record(timestamps.length);
            long now = System.currentTimeMillis();
            for (long timestamp : timestamps) {
                if (timestamp >= 0) {
                    meters.latency.record(Math.max(0, now - timestamp), TimeUnit.MILLISECONDS);
                }
            }
            answers.forEach((decision, count) -> decisionCounter(decision).increment(count[0]));
            deadLettered.forEach((reason, count) -> deadLetterCounter(new DeadLetter(path, reason)).increment(count[0]));
        }
    }

    /** The meters of one path that exist from the start. Percentile histograms, so that Prometheus computes quantiles. */
    private static final class PathMeters {

        final DistributionSummary batchSize;
        final Timer commit;
        final Timer latency;

        PathMeters(MeterRegistry registry, String path, int maxRecords) {
            batchSize = DistributionSummary.builder("checkout.batch.size")
                    .description("Requests per poll batch, valid or not, counted when its Kafka transaction commits")
                    .tag("path", path)
                    .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue((double) maxRecords)
                    .register(registry);
            commit = Timer.builder("checkout.transaction.commit")
                    .description("Time to commit a batch's Kafka transaction: outcomes, dead letters and offsets")
                    .tag("path", path)
                    .publishPercentileHistogram()
                    .register(registry);
            latency = Timer.builder("checkout.request.latency")
                    .description("From a request record's timestamp to the commit of its outcome or dead letter")
                    .tag("path", path)
                    .publishPercentileHistogram().maximumExpectedValue(Duration.ofMinutes(2))
                    .register(registry);
        }
    }

    private record Decision(String path, String kind, String errorCode, boolean replayed) {
    }

    private record DeadLetter(String path, String reason) {
    }
}
