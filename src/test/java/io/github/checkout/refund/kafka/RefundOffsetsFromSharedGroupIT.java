package io.github.checkout.refund.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.support.IntegrationTestSupport;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.kafka.core.KafkaAdmin;

/** An upgrade from one shared consumer group: the refund group starts where the shared group left the refund topic. */
class RefundOffsetsFromSharedGroupIT extends IntegrationTestSupport {

    @Autowired
    KafkaAdmin kafkaAdmin;

    @Test
    void aNewRefundGroup_takesOverTheSharedGroupsOffsetsOnTheRefundTopicOnly_andOnlyOnce() throws Exception {
        String run = UUID.randomUUID().toString();
        String topic = "carry-refunds-" + run;
        kafkaAdmin.createOrModifyTopics(new NewTopic(topic, 2, (short) 1));
        var refunds = Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(7), new TopicPartition(topic, 1), new OffsetAndMetadata(3));
        var purchases = Map.of(new TopicPartition(REQUESTS, 0), new OffsetAndMetadata(0));
        try (Admin admin = Admin.create(kafkaAdmin.getConfigurationProperties())) {
            var both = new HashMap<>(refunds);
            both.putAll(purchases);
            admin.alterConsumerGroupOffsets("shared-" + run, both).all().get();
            var takeOver = new RefundOffsetsFromSharedGroup(kafkaAdmin, properties(topic, run));

            takeOver.start();
            assertThat(offsets(admin, "refunds-" + run)).isEqualTo(refunds);

            var later = Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(9));
            admin.alterConsumerGroupOffsets("refunds-" + run, later).all().get();
            takeOver.start();
            assertThat(offsets(admin, "refunds-" + run)).containsEntry(new TopicPartition(topic, 0), new OffsetAndMetadata(9));
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> offsets(Admin admin, String group) throws Exception {
        return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    }

    private static CheckoutProperties properties(String topic, String run) {
        return new Binder(new MapConfigurationPropertySource(Map.of(
                "checkout.topics.refund-requests", topic,
                "checkout.groups.purchases", "shared-" + run,
                "checkout.groups.refunds", "refunds-" + run)))
                .bindOrCreate("checkout", CheckoutProperties.class);
    }
}
