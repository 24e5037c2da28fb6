package io.github.checkout.config;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.function.LongConsumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A transactional producer whose {@code commitTransaction()} and {@code abortTransaction()} are tried
 * again when they time out ({@code max.block.ms}, for example while the broker is down), until they
 * succeed or fail for good. Any other failure, a fenced producer for one, is thrown as before.
 *
 * <p>Spring Kafka tries each once and, when it times out, throws the producer away and seeks back to
 * redeliver the batch. That breaks exactly-once in two ways:
 * <ul>
 *   <li>A commit that timed out may still have reached the broker, which then completes it: outcomes and
 *       consumed offsets. The redelivered batch's decisions are replayed and published a second time,
 *       visible to read_committed readers. Spring aborts after the timeout, which the Kafka producer
 *       refuses: its documented handling is to retry the commit, whose outcome is then known.</li>
 *   <li>An abort that timed out leaves the transaction open on the broker under a transactional id that
 *       nobody uses again. Until {@code transaction.timeout.ms} (a minute by default) aborts it, it holds
 *       back every read_committed reader of the partitions it wrote to, and the consumer group's offsets
 *       it carried: nothing is decided or seen for up to a minute after the broker is back.</li>
 * </ul>
 * Both wait for the broker instead, as a transient failure should; the listener thread has nothing else
 * to do while the broker is away.
 *
 * <p>Each commit that succeeds is reported with its duration, retries included, and each abort, on the
 * thread that ended the transaction: the metrics count a batch when, and only when, its transaction commits.
 */
final class RetriedTransactionEnds implements InvocationHandler {

    private static final Logger log = LoggerFactory.getLogger(RetriedTransactionEnds.class);
    private static final Set<String> TRANSACTION_ENDS = Set.of("commitTransaction", "abortTransaction");

    private final Producer<?, ?> producer;
    private final LongConsumer committed;
    private final Runnable aborted;

    private RetriedTransactionEnds(Producer<?, ?> producer, LongConsumer committed, Runnable aborted) {
        this.producer = producer;
        this.committed = committed;
        this.aborted = aborted;
    }

    static <K, V> Producer<K, V> retryTransactionEnds(Producer<K, V> producer) {
        return retryTransactionEnds(producer, nanos -> { }, () -> { });
    }

    /**
     * @param committed told the nanoseconds a commit took, after it succeeded
     * @param aborted told after an abort, whether it succeeded or not
     */
    @SuppressWarnings("unchecked")
    static <K, V> Producer<K, V> retryTransactionEnds(Producer<K, V> producer, LongConsumer committed, Runnable aborted) {
        return (Producer<K, V>) Proxy.newProxyInstance(Producer.class.getClassLoader(), new Class<?>[] {Producer.class},
                new RetriedTransactionEnds(producer, committed, aborted));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
            case "commitTransaction" -> {
                long start = System.nanoTime();
                Object result = invokeRetried(method, args);
                committed.accept(System.nanoTime() - start);
                return result;
            }
            case "abortTransaction" -> {
                try {
                    return invokeRetried(method, args);
                } finally {
                    aborted.run();
                }
            }
            default -> {
                return invokeRetried(method, args);
            }
        }
    }

    private Object invokeRetried(Method method, Object[] args) throws Throwable {
        for (int attempt = 1; ; attempt++) {
            try {
                return method.invoke(producer, args);
            } catch (InvocationTargetException e) {
                if (!(e.getCause() instanceof TimeoutException timeout) || !TRANSACTION_ENDS.contains(method.getName())) {
                    throw e.getCause();
                }
                log.warn("{} timed out (attempt {}); trying again until the broker answers: {}",
                        method.getName(), attempt, timeout.getMessage());
            }
        }
    }
}
