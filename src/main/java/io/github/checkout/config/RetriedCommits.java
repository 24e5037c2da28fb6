package io.github.checkout.config;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A transactional producer whose {@code commitTransaction()} is tried again, until it succeeds or fails
 * for good, when it times out.
 *
 * <p>A commit that times out ({@code max.block.ms}, a minute by default, for example while the broker is
 * down) may still have reached the broker, which then completes it, outcomes and consumed offsets
 * together. Spring Kafka treats the timeout as any failure: it aborts, which the Kafka producer refuses
 * after a commit timed out, throws the producer away, and seeks back to redeliver the batch. Were the
 * commit complete, the batch's decisions would be replayed and published a second time, visible to
 * read_committed readers. The Kafka producer documents that a commit that timed out is to be retried
 * instead; its outcome is then known. Any other failure, a fenced producer for one, is thrown as before.
 */
final class RetriedCommits implements InvocationHandler {

    private static final Logger log = LoggerFactory.getLogger(RetriedCommits.class);

    private final Producer<?, ?> producer;

    private RetriedCommits(Producer<?, ?> producer) {
        this.producer = producer;
    }

    @SuppressWarnings("unchecked")
    static <K, V> Producer<K, V> retryCommits(Producer<K, V> producer) {
        return (Producer<K, V>) Proxy.newProxyInstance(Producer.class.getClassLoader(), new Class<?>[] {Producer.class},
                new RetriedCommits(producer));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        try {
            if (!method.getName().equals("commitTransaction")) {
                return method.invoke(producer, args);
            }
            for (int attempt = 1; ; attempt++) {
                try {
                    producer.commitTransaction();
                    return null;
                } catch (TimeoutException e) {
                    log.warn("Committing the Kafka transaction timed out (attempt {}); trying again, as an abort is"
                            + " no longer possible: {}", attempt, e.getMessage());
                }
            }
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
