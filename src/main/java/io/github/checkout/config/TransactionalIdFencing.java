package io.github.checkout.config;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.AuthorizationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.SmartLifecycle;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.stereotype.Component;

/**
 * Before any listener starts, initialises every transactional id of this instance once. The broker
 * then aborts whatever transaction a crashed predecessor left open under that id, at once instead of
 * after {@code transaction.timeout.ms}: until then its pending offsets hold back the new consumers'
 * offset fetch, and its pending outcomes hold back every {@code read_committed} reader of those partitions.
 * The producers go back to the factory's cache, ready for the listeners. Not in the operator commands'
 * mode, whose listeners stay stopped and which needs no broker. A broker that refuses the ids (no Write
 * ACL on them) ends the start; one that does not answer does not: each id is fenced when first used.
 */
@Component
@ConditionalOnBooleanProperty(name = "spring.kafka.listener.auto-startup", matchIfMissing = true)
class TransactionalIdFencing implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(TransactionalIdFencing.class);

    private final ProducerFactory<?, ?> producers;
    private final int ids;
    private volatile boolean running;

    TransactionalIdFencing(ProducerFactory<?, ?> producers, CheckoutProperties properties) {
        this.producers = producers;
        this.ids = KafkaConfig.transactionalIds(properties);
    }

    @Override
    public void start() {
        running = true;
        if (!producers.transactionCapable()) {
            return;
        }
        long started = System.nanoTime();
        List<Producer<?, ?>> created = new ArrayList<>(ids);
        try {
            // All at once: a producer closed here goes back to the cache and would be handed out again.
            for (int i = 0; i < ids; i++) {
                created.add(producers.createProducer());
            }
            log.info("Initialised the {} transactional ids {}0..{} in {} ms", ids, producers.getTransactionIdPrefix(), ids - 1,
                    (System.nanoTime() - started) / 1_000_000);
        } catch (RuntimeException e) {
            // Refused rights do not come back by waiting: end the start, naming the ACL to grant.
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof AuthorizationException refused) {
                    throw new IllegalStateException("Kafka refused the transactional ids " + producers.getTransactionIdPrefix() + "0.."
                            + (ids - 1) + " (" + refused + "). The service's principal needs Write on the transactional ids"
                            + " prefixed with spring.kafka.producer.transaction-id-prefix (README, \"Kafka security\")", e);
                }
            }
            // The broker is unreachable: the listeners wait for it anyway, and each id they use is fenced then.
            log.warn("Could not initialise the transactional ids {}0..{} at start ({}); each is initialised when first used",
                    producers.getTransactionIdPrefix(), ids - 1, e.toString());
        } finally {
            created.forEach(Producer::close);
        }
    }

    @Override
    public void stop() {
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return AbstractMessageListenerContainer.DEFAULT_PHASE - 1;
    }
}
