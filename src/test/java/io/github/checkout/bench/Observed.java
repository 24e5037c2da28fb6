package io.github.checkout.bench;

import io.github.checkout.purchase.PurchaseOutcome;
import java.util.Arrays;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;

/**
 * What came back in one run: each outcome matched to the delivery it answers, its latency, and what the
 * checks need (outcomes for keys nobody sent, more outcomes than deliveries of a key, one key answered with
 * two different orders). The k-th outcome of a key answers the k-th delivery of that key: request and outcome
 * both travel keyed by item id (a cart's by user id), through one partition each, so their order is kept.
 */
final class Observed {

    private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(30);

    private final Workload workload;
    private final AtomicLongArray startNanos;
    private final int[] firstDelivery;
    private final int[] nextDelivery;
    private final int[] answered;
    private final UUID[] orderOfKey;
    private final Histogram latencyMicros = new Histogram(MAX_MICROS, 3);
    private volatile int seen;
    private volatile long lastSeenNanos;
    private long created;
    private long outOfStock;
    private long rejected;
    private long lines;
    private long linesInOrders;
    private long unknownKeys;
    private long surplus;
    private long conflictingOrders;

    Observed(Workload workload) {
        this.workload = workload;
        int deliveries = workload.deliveries();
        this.startNanos = new AtomicLongArray(deliveries);
        this.firstDelivery = new int[workload.keys()];
        this.nextDelivery = new int[deliveries];
        this.answered = new int[workload.keys()];
        this.orderOfKey = new UUID[workload.keys()];
        Arrays.fill(firstDelivery, -1);
        Arrays.fill(nextDelivery, -1);
        int[] lastDelivery = new int[workload.keys()];
        for (int d = 0; d < deliveries; d++) {
            int key = workload.keyOf(d);
            if (firstDelivery[key] < 0) {
                firstDelivery[key] = d;
            } else {
                nextDelivery[lastDelivery[key]] = d;
            }
            lastDelivery[key] = d;
        }
    }

    /** The moment latency of this delivery counts from: when it was sent, or when it was meant to be sent. */
    void started(int delivery, long nanos) {
        startNanos.set(delivery, nanos);
    }

    /** The key's number, or -1 when the key is not one of this workload's. */
    int keyNumber(String key) {
        if (key == null || !key.startsWith(workload.keyPrefix) || key.length() == workload.keyPrefix.length()) {
            return -1;
        }
        try {
            int n = Integer.parseInt(key, workload.keyPrefix.length(), key.length(), 10);
            return n >= 0 && n < workload.keys() ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** An outcome read from Kafka for a key: answers the next unanswered delivery of that key. */
    synchronized void answerKey(int key, PurchaseOutcome.Kind kind, UUID orderId, long seenNanos) {
        if (key < 0) {
            unknownKeys++;
            count(seenNanos);
            return;
        }
        int delivery = firstDelivery[key];
        for (int i = 0; i < answered[key] && delivery >= 0; i++) {
            delivery = nextDelivery[delivery];
        }
        answered[key]++;
        if (delivery < 0 || startNanos.get(delivery) == 0) {
            surplus++;
            count(seenNanos);
            return;
        }
        record(key, delivery, kind, orderId, seenNanos);
    }

    /** A decision returned by a synchronous call for this delivery. */
    synchronized void answerDelivery(int delivery, PurchaseOutcome.Kind kind, UUID orderId, long seenNanos) {
        int key = workload.keyOf(delivery);
        answered[key]++;
        record(key, delivery, kind, orderId, seenNanos);
    }

    private void record(int key, int delivery, PurchaseOutcome.Kind kind, UUID orderId, long seenNanos) {
        lines += workload.lines(key);
        switch (kind) {
            case ORDER_CREATED -> created++;
            case OUT_OF_STOCK -> outOfStock++;
            case REJECTED -> rejected++;
        }
        if (kind == PurchaseOutcome.Kind.ORDER_CREATED) {
            if (orderOfKey[key] == null) {
                orderOfKey[key] = orderId;
                linesInOrders += workload.lines(key);
            } else if (!Objects.equals(orderOfKey[key], orderId)) {
                conflictingOrders++;
            }
        }
        long micros = Math.max(0, (seenNanos - startNanos.get(delivery)) / 1_000);
        latencyMicros.recordValue(Math.min(micros, MAX_MICROS));
        count(seenNanos);
    }

    private void count(long seenNanos) {
        lastSeenNanos = Math.max(lastSeenNanos, seenNanos);
        seen++;
    }

    int seen() {
        return seen;
    }

    long lastSeenNanos() {
        return lastSeenNanos;
    }

    synchronized Histogram latency() {
        return latencyMicros.copy();
    }

    synchronized long created() {
        return created;
    }

    synchronized long outOfStock() {
        return outOfStock;
    }

    synchronized long rejected() {
        return rejected;
    }

    /** Lines of the deliveries answered: as many as the deliveries, unless they are carts. */
    synchronized long lines() {
        return lines;
    }

    /** Lines of the keys answered with an order, each key counted once. */
    synchronized long linesInOrders() {
        return linesInOrders;
    }

    synchronized long unknownKeys() {
        return unknownKeys;
    }

    synchronized long surplus() {
        return surplus;
    }

    synchronized long conflictingOrders() {
        return conflictingOrders;
    }

    /** Keys answered with an order, each counted once however often it was answered. */
    synchronized long keysWithOrder() {
        return Arrays.stream(orderOfKey).filter(Objects::nonNull).count();
    }
}
