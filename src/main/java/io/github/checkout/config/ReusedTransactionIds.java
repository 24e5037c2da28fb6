package io.github.checkout.config;

import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.kafka.core.TransactionIdSuffixStrategy;

/**
 * Gives a new transactional producer the transactional id of one that was closed, before it makes up a
 * new one.
 *
 * <p>When the broker goes away in the middle of a Kafka transaction, the abort fails too, and the
 * producer is thrown away with its transaction still open on the broker. Nobody else would ever use its
 * transactional id, so that transaction would stay open until {@code transaction.timeout.ms} (a minute by
 * default) and, all that time, hold back every read_committed reader of the partitions it wrote to and
 * the consumer group's offsets it carried. A producer that takes over the id fences its predecessor when
 * it starts, and the broker aborts the open transaction at once.
 *
 * <p>Spring Kafka's own strategy makes up a new id for every producer, or with a bounded cache hands out
 * the ids it never used before those released.
 */
final class ReusedTransactionIds implements TransactionIdSuffixStrategy {

    private final AtomicInteger next = new AtomicInteger();
    private final Map<String, Deque<String>> released = new ConcurrentHashMap<>();

    @Override
    public String acquireSuffix(String prefix) {
        String suffix = releasedFor(prefix).pollFirst();
        return suffix != null ? suffix : String.valueOf(next.getAndIncrement());
    }

    @Override
    public void releaseSuffix(String prefix, String suffix) {
        Deque<String> free = releasedFor(prefix);
        synchronized (free) {
            if (!free.contains(suffix)) {
                free.addFirst(suffix);
            }
        }
    }

    private Deque<String> releasedFor(String prefix) {
        return released.computeIfAbsent(prefix, p -> new ConcurrentLinkedDeque<>());
    }
}
