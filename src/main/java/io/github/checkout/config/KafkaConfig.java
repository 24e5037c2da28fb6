package io.github.checkout.config;

import io.github.checkout.messaging.DeadLetters;
import io.github.checkout.messaging.StallMonitor;
import java.util.Properties;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.springframework.boot.kafka.autoconfigure.ConcurrentKafkaListenerContainerFactoryConfigurer;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.DefaultAfterRollbackProcessor;
import org.springframework.kafka.transaction.KafkaAwareTransactionManager;
import org.springframework.util.backoff.ExponentialBackOff;

/** Topics, and the transactional batch listener container that reads purchase and refund requests. */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

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
                topic(t.refundRejected(), t.partitions()));
    }

    private static NewTopic topic(String name, int partitions) {
        // No replica count: a topic the service creates gets the cluster's default replication.
        return TopicBuilder.name(name).partitions(partitions).build();
    }

    private static NewTopic deadLetterTopic(String name, int partitions, int maxMessageBytes) {
        return TopicBuilder.name(name).partitions(partitions)
                .config(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(maxMessageBytes)).build();
    }

    /** A transaction's commit or abort waits out a broker outage (see {@link RetriedTransactionEnds}). */
    @Bean
    DefaultKafkaProducerFactoryCustomizer transactionEndsRetried() {
        return KafkaConfig::retryTransactionEnds;
    }

    private static <K, V> void retryTransactionEnds(DefaultKafkaProducerFactory<K, V> factory) {
        factory.addPostProcessor(RetriedTransactionEnds::retryTransactionEnds);
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
            StallMonitor stalls) {
        var factory = new ConcurrentKafkaListenerContainerFactory<Object, Object>();
        configurer.configure(factory, consumerFactory);
        factory.setBatchListener(true);
        factory.setConcurrency(properties.concurrency());
        factory.getContainerProperties().setKafkaAwareTransactionManager(kafkaTransactionManager);

        Properties overrides = new Properties();
        overrides.setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(properties.batch().maxRecords()));
        overrides.setProperty(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, String.valueOf(properties.batch().minBytes()));
        overrides.setProperty(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, String.valueOf(properties.batch().maxWait().toMillis()));
        // Per container: the factory does not copy its own kafkaConsumerProperties into the containers it
        // creates (spring-kafka#1808), so set on the factory they would be silently ignored.
        factory.setContainerCustomizer(container -> container.getContainerProperties().getKafkaConsumerProperties().putAll(overrides));

        ExponentialBackOff backOff = new ExponentialBackOff(properties.retry().initialInterval().toMillis(), 2.0);
        backOff.setMaxInterval(properties.retry().maxInterval().toMillis());
        factory.setAfterRollbackProcessor(stalls.notingFailures(new DefaultAfterRollbackProcessor<>(backOff)));
        // A producer's transaction marker after the last request leaves the committed offset one short of the
        // end for good, which would look like a request waiting; the container commits past it when idle.
        factory.getContainerProperties().setFixTxOffsets(true);
        return factory;
    }
}
