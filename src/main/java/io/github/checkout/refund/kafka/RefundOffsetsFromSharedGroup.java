package io.github.checkout.refund.kafka;

import io.github.checkout.config.CheckoutProperties;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.SmartLifecycle;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.stereotype.Component;

/**
 * Refunds used to be consumed in the purchases' consumer group. The first time the refund group of its
 * own starts, it takes over the offsets the purchases' group committed on the refund topic, before any
 * listener starts: an upgrade then neither decides every refund ever sent again nor skips one.
 */
@Component
@ConditionalOnBooleanProperty(name = "spring.kafka.listener.auto-startup", matchIfMissing = true)
class RefundOffsetsFromSharedGroup implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(RefundOffsetsFromSharedGroup.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final KafkaAdmin kafkaAdmin;
    private final String topic;
    private final String sharedGroup;
    private final String refundGroup;
    private volatile boolean running;

    RefundOffsetsFromSharedGroup(KafkaAdmin kafkaAdmin, CheckoutProperties properties) {
        this.kafkaAdmin = kafkaAdmin;
        this.topic = properties.topics().refundRequests();
        this.sharedGroup = properties.groups().purchases();
        this.refundGroup = properties.groups().refunds();
    }

    @Override
    public void start() {
        running = true;
        if (!sharedGroup.equals(refundGroup)) {
            takeOverOffsets();
        }
    }

    void takeOverOffsets() {
        try (Admin admin = Admin.create(kafkaAdmin.getConfigurationProperties())) {
            if (!offsetsOnTopic(admin, refundGroup).isEmpty()) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> shared = offsetsOnTopic(admin, sharedGroup);
            if (shared.isEmpty()) {
                return;
            }
            admin.alterConsumerGroupOffsets(refundGroup, shared).all().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            log.info("Consumer group {} takes over the offsets group {} committed on {}: {}", refundGroup, sharedGroup, topic, shared);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof GroupNotEmptyException)) {
                throw new IllegalStateException("Could not carry the offsets of " + sharedGroup + " on " + topic + " over to "
                        + refundGroup + ": " + e.getCause(), e.getCause());
            }
            // Another instance's refund consumers have joined the group already: it took the offsets over.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("The broker did not answer within " + TIMEOUT.toSeconds()
                    + " s while the offsets of " + sharedGroup + " on " + topic + " were carried over to " + refundGroup, e);
        }
    }

    private Map<TopicPartition, OffsetAndMetadata> offsetsOnTopic(Admin admin, String group)
            throws ExecutionException, InterruptedException, TimeoutException {
        return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)
                .entrySet().stream()
                .filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    @Override
    public void stop() {
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Before the listener containers, whose phase is just below {@code Integer.MAX_VALUE}. */
    @Override
    public int getPhase() {
        return 0;
    }
}
