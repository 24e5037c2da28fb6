package io.github.checkout.config;

import io.github.checkout.messaging.DeadLetters;
import io.github.checkout.messaging.Metrics;
import io.github.checkout.messaging.StallMonitor;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.ConcurrentKafkaListenerContainerFactoryConfigurer;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaConsumerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.DefaultTransactionIdSuffixStrategy;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.DefaultAfterRollbackProcessor;
import org.springframework.kafka.transaction.KafkaAwareTransactionManager;
import org.springframework.util.backoff.ExponentialBackOff;

/** Topics, and the transactional batch listener container that reads purchase, refund and reservation requests. */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

    private static final Logger log = LoggerFactory.getLogger(KafkaConfig.class);

    @Bean(destroyMethod = "close")
    InstanceId instanceId(CheckoutProperties properties) {
        InstanceId id = InstanceId.resolve(properties.instanceId(),
                List.of(properties.groups().purchases(), properties.groups().refunds(), properties.groups().reservations()), Path.of(System.getProperty("java.io.tmpdir")));
        log.info("Instance id {}{}", id, id.derived() ? " (host name and the lowest free slot; set checkout.instance-id to choose it)" : "");
        return id;
    }

    /**
     * The transactional ids of this instance: {@code <spring.kafka.producer.transaction-id-prefix><instance id>-<n>}
     * with n below {@link #transactionalIds}, reused, never new ones. A restart therefore takes over, and
     * fences, exactly the ids its predecessor had open transactions under ({@link TransactionalIdFencing}).
     */
    @Bean
    DefaultKafkaProducerFactoryCustomizer stableTransactionalIds(InstanceId instanceId, CheckoutProperties properties) {
        return factory -> {
            factory.setTransactionIdPrefix(factory.getTransactionIdPrefix() + instanceId.value() + "-");
            factory.setTransactionIdSuffixStrategy(new DefaultTransactionIdSuffixStrategy(transactionalIds(properties)));
        };
    }

    /**
     * One producer per consumer thread of the purchase, the refund and the reservation listener, each held for its
     * batch's transaction, and one for the hold sweep's.
     */
    static int transactionalIds(CheckoutProperties properties) {
        return 3 * properties.consumerThreads() + 1;
    }

    @Bean
    KafkaAdmin.NewTopics checkoutTopics(CheckoutProperties properties, ProducerFactory<?, ?> producers) {
        CheckoutProperties.Topics t = properties.topics();
        // A dead-letter topic takes whatever the producer can send, so that a request is forwarded whole.
        int deadLetterBytes = DeadLetters.largestSendable(producers.getConfigurationProperties());
        return new KafkaAdmin.NewTopics(
                topic(t.purchaseRequests(), t.partitions()),
                deadLetterTopic(t.purchaseRequestsDeadLetter(), t.partitions(), deadLetterBytes),
                topic(t.orderCreated(), t.partitions()),
                topic(t.outOfStock(), t.partitions()),
                topic(t.purchaseRejected(), t.partitions()),
                topic(t.refundRequests(), t.partitions()),
                deadLetterTopic(t.refundRequestsDeadLetter(), t.partitions(), deadLetterBytes),
                topic(t.orderRefunded(), t.partitions()),
                topic(t.refundRejected(), t.partitions()),
                topic(t.reservationRequests(), t.partitions()),
                deadLetterTopic(t.reservationRequestsDeadLetter(), t.partitions(), deadLetterBytes),
                topic(t.stockReserved(), t.partitions()),
                topic(t.reservationReleased(), t.partitions()),
                topic(t.reservationExtended(), t.partitions()),
                topic(t.reservationExpired(), t.partitions()),
                topic(t.reservationRejected(), t.partitions()));
    }

    private static NewTopic topic(String name, int partitions) {
        // No replica count: a topic the service creates gets the cluster's default replication.
        return TopicBuilder.name(name).partitions(partitions).build();
    }

    private static NewTopic deadLetterTopic(String name, int partitions, int maxMessageBytes) {
        return TopicBuilder.name(name).partitions(partitions)
                .config(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(maxMessageBytes)).build();
    }

    /** A container stopped with the service leaves its group at once, static member though it is ({@link LeaveGroupOnClose}). */
    @Bean
    DefaultKafkaConsumerFactoryCustomizer leaveGroupOnClose() {
        return KafkaConfig::leaveGroupOnClose;
    }

    private static <K, V> void leaveGroupOnClose(DefaultKafkaConsumerFactory<K, V> factory) {
        factory.addPostProcessor(LeaveGroupOnClose::leavingOnClose);
    }

    /**
     * A transaction's commit or abort waits out a broker outage (see {@link RetriedTransactionEnds}); the
     * metrics hear of each commit and abort.
     */
    @Bean
    DefaultKafkaProducerFactoryCustomizer transactionEndsRetried(Metrics metrics) {
        return factory -> retryTransactionEnds(factory, metrics);
    }

    private static <K, V> void retryTransactionEnds(DefaultKafkaProducerFactory<K, V> factory, Metrics metrics) {
        factory.addPostProcessor(producer ->
                RetriedTransactionEnds.retryTransactionEnds(producer, metrics::committed, metrics::aborted));
    }

    /**
     * Batch listener in a Kafka transaction: outcomes, dead letters and the consumed offsets commit
     * together. An exception that leaves the listener rolls the transaction back and re-delivers the
     * whole batch after a back-off that never gives up, so a request is never skipped because
     * infrastructure was down. Failures caused by a request's data never get here: the listener's
     * BatchProcessor isolates and dead-letters them.
     */
    @Bean
    ConcurrentKafkaListenerContainerFactory<Object, Object> purchaseListenerContainerFactory(
            ConcurrentKafkaListenerContainerFactoryConfigurer configurer,
            ConsumerFactory<Object, Object> consumerFactory,
            KafkaAwareTransactionManager<Object, Object> kafkaTransactionManager,
            CheckoutProperties properties,
            StallMonitor stalls,
            InstanceId instanceId) {
        var factory = new ConcurrentKafkaListenerContainerFactory<Object, Object>();
        configurer.configure(factory, consumerFactory);
        factory.setBatchListener(true);
        int threads = properties.consumerThreads();
        log.info("{} consumer thread{} per listener: {}", threads, threads == 1 ? "" : "s", properties.concurrency() != null
                ? "checkout.concurrency=" + threads
                : "checkout.concurrency unset, so one per partition (checkout.topics.partitions=" + properties.topics().partitions()
                        + "), at most two per available processor (" + Runtime.getRuntime().availableProcessors() + ")");
        factory.setConcurrency(threads);
        factory.getContainerProperties().setKafkaAwareTransactionManager(kafkaTransactionManager);

        Properties overrides = new Properties();
        overrides.setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(properties.batch().maxRecords()));
        overrides.setProperty(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, String.valueOf(properties.batch().minBytes()));
        overrides.setProperty(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, String.valueOf(properties.batch().maxWait().toMillis()));
        // Per container: the factory does not copy its own kafkaConsumerProperties into the containers it
        // creates (spring-kafka#1808), so set on the factory they would be silently ignored.
        factory.setContainerCustomizer(container -> {
            container.getContainerProperties().getKafkaConsumerProperties().putAll(overrides);
            // Static membership: a restarted instance takes its partitions back at once, no rebalance and no
            // wait for the session timeout. The container appends "-<thread index>" for each consumer thread.
            container.getContainerProperties().getKafkaConsumerProperties()
                    .setProperty(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId.value() + "-" + container.getListenerId());
            // Fenced means another process took over this instance's id: stop, and let ExitOnFatalConsumerStop end the
            // process, rather than create a new producer that fences the other one back.
            container.getContainerProperties().setStopContainerWhenFenced(true);
        });

        ExponentialBackOff backOff = new ExponentialBackOff(properties.retry().initialInterval().toMillis(), 2.0);
        backOff.setMaxInterval(properties.retry().maxInterval().toMillis());
        factory.setAfterRollbackProcessor(stalls.notingFailures(new DefaultAfterRollbackProcessor<>(backOff)));
        // A producer's transaction marker after the last request leaves the committed offset one short of the
        // end for good, which would look like a request waiting; the container commits past it when idle.
        factory.getContainerProperties().setFixTxOffsets(true);
        return factory;
    }
}
