package io.github.checkout.config;

import java.util.Properties;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.springframework.boot.kafka.autoconfigure.ConcurrentKafkaListenerContainerFactoryConfigurer;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.listener.DefaultAfterRollbackProcessor;
import org.springframework.kafka.transaction.KafkaAwareTransactionManager;
import org.springframework.util.backoff.ExponentialBackOff;

/** Topics, and the transactional batch listener container that reads purchase and refund requests. */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

    @Bean
    KafkaAdmin.NewTopics checkoutTopics(CheckoutProperties properties) {
        CheckoutProperties.Topics t = properties.topics();
        return new KafkaAdmin.NewTopics(
                topic(t.purchaseRequests(), t.partitions()),
                topic(t.purchaseRequestsDeadLetter(), t.partitions()),
                topic(t.orderCreated(), t.partitions()),
                topic(t.outOfStock(), t.partitions()),
                topic(t.purchaseRejected(), t.partitions()),
                topic(t.refundRequests(), t.partitions()),
                topic(t.refundRequestsDeadLetter(), t.partitions()),
                topic(t.orderRefunded(), t.partitions()),
                topic(t.refundRejected(), t.partitions()));
    }

    private static NewTopic topic(String name, int partitions) {
        // No replica count: a topic the service creates gets the cluster's default replication.
        return TopicBuilder.name(name).partitions(partitions).build();
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
     * together. Any exception rolls the transaction back and re-delivers the whole batch after a
     * back-off that never gives up, so a request is never skipped because infrastructure was down.
     */
    @Bean
    ConcurrentKafkaListenerContainerFactory<Object, Object> purchaseListenerContainerFactory(
            ConcurrentKafkaListenerContainerFactoryConfigurer configurer,
            ConsumerFactory<Object, Object> consumerFactory,
            KafkaAwareTransactionManager<Object, Object> kafkaTransactionManager,
            CheckoutProperties properties) {
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
        factory.setAfterRollbackProcessor(new DefaultAfterRollbackProcessor<>(backOff));
        return factory;
    }
}
