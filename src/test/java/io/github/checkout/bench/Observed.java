package io.github.checkout.bench;

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
 * A hold's request is over at its end as the client sees it: a hold to be confirmed when the OrderCreated of its
 * confirmation is seen (the load generator sends the confirmation as soon as the StockReserved is seen), a hold
 * left to expire when its StockReserved is seen; its ReservationExpired is counted apart, as it comes later.
 */
final class Observed {

    /** The outcomes the load generator reads, whatever their Java type in the service. */
    enum Kind { ORDER_CREATED, STOCK_RESERVED, OUT_OF_STOCK, REJECTED, RESERVATION_EXPIRED, RESERVATION_REJECTED }

    private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(30);

    private final Workload workload;
    private final AtomicLongArray startNanos;
    private final int[] firstDelivery;
    private final int[] nextDelivery;
    private final int[] answered;
    private final UUID[] orderOfKey;
    /** HOLD only: the hold of each key, its confirmations' outcomes and its ReservationExpired seen; else null. */
    private final UUID[] reservationOfKey;
    private final int[] confirmationsOfKey;
    private final int[] expiriesOfKey;
    private final Histogram latencyMicros = new Histogram(MAX_MICROS, 3);
    private volatile int seen;
    private volatile long lastSeenNanos;
    private long created;
    private long reserved;
    private long expired;
    private long confirmationsRejected;
    private volatile long lastExpiryNanos;
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
        this.reservationOfKey = workload.holds() ? new UUID[workload.keys()] : null;
        this.confirmationsOfKey = workload.holds() ? new int[workload.keys()] : null;
        this.expiriesOfKey = workload.holds() ? new int[workload.keys()] : null;
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
        return number(key, workload.keyPrefix);
    }

    /** The number of the key whose hold a confirmation's key confirms, or -1 when it is none of this workload's. */
    int confirmationNumber(String key) {
        return number(key, workload.keyPrefix + "c");
    }

    private int number(String key, String prefix) {
        if (key == null || !key.startsWith(prefix) || key.length() == prefix.length()) {
            return -1;
        }
        try {
            int n = Integer.parseInt(key, prefix.length(), key.length(), 10);
            return n >= 0 && n < workload.keys() ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * An outcome read from Kafka for a key: answers the next unanswered delivery of that key. {@code id} is the
     * order id of an OrderCreated, the reservation id of a StockReserved. Returns whether the request is over: false
     * only for the StockReserved of a hold to be confirmed, which the caller confirms next.
     */
    synchronized boolean answerKey(int key, Kind kind, UUID id, long seenNanos) {
        if (key < 0) {
            unknownKeys++;
            count(seenNanos);
            return true;
        }
        int delivery = firstDelivery[key];
        for (int i = 0; i < answered[key] && delivery >= 0; i++) {
            delivery = nextDelivery[delivery];
        }
        answered[key]++;
        if (delivery < 0 || startNanos.get(delivery) == 0) {
            surplus++;
            count(seenNanos);
            return true;
        }
        if (kind == Kind.STOCK_RESERVED && workload.holds()) {
            reserved++;
            reservationOfKey[key] = id;
            if (workload.confirms(key)) {
                return false;
            }
        }
        record(key, delivery, kind, id, seenNanos);
        return true;
    }

    /**
     * The outcome of a hold's confirmation, OrderCreated or ReservationRejected, keyed by the hold's key number:
     * the end of a hold to be confirmed. Anything else (a hold never reserved or not to be confirmed, a second
     * outcome) is surplus.
     */
    synchronized void answerConfirmation(int key, Kind kind, UUID orderId, long seenNanos) {
        if (key < 0) {
            unknownKeys++;
            count(seenNanos);
            return;
        }
        if (reservationOfKey[key] == null || !workload.confirms(key) || confirmationsOfKey[key]++ > 0) {
            surplus++;
            count(seenNanos);
            return;
        }
        if (kind == Kind.RESERVATION_REJECTED) {
            confirmationsRejected++;
        }
        record(key, firstDelivery[key], kind, orderId, seenNanos);
    }

    /** A ReservationExpired, keyed by the number of the key that placed the hold; -1 (another run's) is not counted. */
    synchronized void answerExpiry(int key, long seenNanos) {
        if (key < 0) {
            return;
        }
        expiriesOfKey[key]++;
        expired++;
        lastExpiryNanos = Math.max(lastExpiryNanos, seenNanos);
    }

    /** A decision returned by a synchronous call for this delivery. */
    synchronized void answerDelivery(int delivery, Kind kind, UUID orderId, long seenNanos) {
        int key = workload.keyOf(delivery);
        answered[key]++;
        record(key, delivery, kind, orderId, seenNanos);
    }

    private void record(int key, int delivery, Kind kind, UUID orderId, long seenNanos) {
        lines += workload.lines(key);
        switch (kind) {
            case ORDER_CREATED -> created++;
            case OUT_OF_STOCK -> outOfStock++;
            case REJECTED, RESERVATION_REJECTED -> rejected++;
            case STOCK_RESERVED, RESERVATION_EXPIRED -> { }
        }
        if (kind == Kind.ORDER_CREATED) {
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

    /** StockReserved seen: holds placed. */
    synchronized long reserved() {
        return reserved;
    }

    /** ReservationExpired seen for this run's holds. */
    synchronized long expired() {
        return expired;
    }

    /** When the last ReservationExpired was seen, 0 before any. */
    long lastExpiryNanos() {
        return lastExpiryNanos;
    }

    /** Confirmations answered with ReservationRejected. */
    synchronized long confirmationsRejected() {
        return confirmationsRejected;
    }

    /** Holds left to expire whose StockReserved was seen: each should get one ReservationExpired. */
    synchronized long expiring() {
        long n = 0;
        for (int k = 0; k < reservationOfKey.length; k++) {
            n += reservationOfKey[k] != null && !workload.confirms(k) ? 1 : 0;
        }
        return n;
    }

    /**
     * Holds that did not end exactly once as planned: a hold to be confirmed without exactly one confirmation
     * answered with an order, or with a ReservationExpired; a hold left to expire without exactly one
     * ReservationExpired, or with a confirmation's outcome; and a ReservationExpired for a hold never seen reserved.
     */
    synchronized long holdsNotEndedOnce() {
        long n = 0;
        for (int k = 0; k < reservationOfKey.length; k++) {
            boolean placed = reservationOfKey[k] != null;
            boolean ok = !placed ? expiriesOfKey[k] == 0 && confirmationsOfKey[k] == 0
                    : workload.confirms(k)
                            ? confirmationsOfKey[k] == 1 && orderOfKey[k] != null && expiriesOfKey[k] == 0
                            : expiriesOfKey[k] == 1 && confirmationsOfKey[k] == 0;
            n += ok ? 0 : 1;
        }
        return n;
    }

    /** Keys answered with an order, each counted once however often it was answered. */
    synchronized long keysWithOrder() {
        return Arrays.stream(orderOfKey).filter(Objects::nonNull).count();
    }
}
