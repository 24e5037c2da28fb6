package io.github.checkout.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

/**
 * A partition whose batch fails on every try, with a failure that looks transient and is retried without
 * end, is reported as stalled once it has not advanced for {@code checkout.stall-after}: logged at ERROR
 * with its offset and the failure, and listed by {@link StallMonitor#stalled()}. Once the cause is gone
 * the batch is decided and the partition is reported as moving again. Purchases and refunds alike.
 */
@DirtiesContext
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + StallIT.TOPIC,
        "checkout.topics.purchase-requests-dead-letter=" + StallIT.TOPIC + ".DLT",
        "checkout.topics.refund-requests=" + StallIT.REFUND_TOPIC,
        "checkout.topics.refund-requests-dead-letter=" + StallIT.REFUND_TOPIC + ".DLT",
        "checkout.groups.purchases=" + StallIT.GROUP,
        "checkout.groups.refunds=" + StallIT.REFUND_GROUP,
        "checkout.stall-after=3s"})
class StallIT extends IntegrationTestSupport {

    static final String TOPIC = "stall-requests";
    static final String REFUND_TOPIC = "stall-refund-requests";
    static final String GROUP = "stall-it";
    static final String REFUND_GROUP = "stall-it-refunds";

    @Autowired
    StallMonitor stalls;

    @Autowired
    DataSource dataSource;

    @Test
    void aBatchFailingOnEveryTry_isReportedStalledWithItsOffsetAndFailure_thenMovingAgainOnceTheCauseIsGone(
            CapturedOutput output) throws Exception {
        UUID item = newItem(10);
        UUID order = newOrder(item, 2);
        // Decided first, so that the stall sits behind a committed offset, as it would in a running service.
        sendPurchase(item, "before-" + item);
        sendRefund(order, "refund-before-" + item);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(outcomes().forRequest("before-" + item)).hasSize(1);
            assertThat(outcomes().forRequest("refund-before-" + item)).hasSize(1);
        });

        blockStockChanges("StallIT", item);
        RecordMetadata purchase = sendPurchase(item, "stuck-" + item);
        RecordMetadata refund = sendRefund(order, "refund-stuck-" + item);
        TopicPartition purchasePartition = new TopicPartition(TOPIC, purchase.partition());
        TopicPartition refundPartition = new TopicPartition(REFUND_TOPIC, refund.partition());

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(stalls.stalled())
                .anySatisfy(stall -> {
                    assertThat(stall.partition()).isEqualTo(purchasePartition);
                    assertThat(stall.groupId()).isEqualTo(GROUP);
                    assertThat(stall.offset()).isEqualTo(purchase.offset());
                    assertThat(stall.behind()).isEqualTo(1);
                    assertThat(stall.lastFailure()).contains("StallIT holds the stock of item " + item);
                })
                .anySatisfy(stall -> {
                    assertThat(stall.partition()).isEqualTo(refundPartition);
                    assertThat(stall.groupId()).isEqualTo(REFUND_GROUP);
                    assertThat(stall.offset()).isEqualTo(refund.offset());
                    assertThat(stall.lastFailure()).contains("StallIT holds the stock of item " + item);
                }));
        assertThat(output.getOut()).containsPattern(Pattern.quote("ERROR") + ".*" + Pattern.quote("Partition " + purchasePartition
                + " (purchase-requests listener, group " + GROUP + ") is stalled at offset " + purchase.offset() + ",")
                + ".*" + Pattern.quote("Last failure: org.postgresql.util.PSQLException: ERROR: StallIT holds the stock of item " + item));
        assertThat(output.getOut()).containsPattern(Pattern.quote("ERROR") + ".*" + Pattern.quote("Partition " + refundPartition
                + " (refund-requests listener, group " + REFUND_GROUP + ") is stalled at offset " + refund.offset() + ","));
        assertThat(outcomes().forRequest("stuck-" + item)).isEmpty();

        unblockStockChanges();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(outcomes().forRequest("stuck-" + item)).hasSize(1);
            assertThat(outcomes().forRequest("refund-stuck-" + item)).hasSize(1);
            assertThat(stalls.stalled()).isEmpty();
        });
        assertThat(output.getOut())
                .contains("Partition " + purchasePartition + " (purchase-requests listener, group " + GROUP + ") is no longer stalled")
                .contains("Partition " + refundPartition + " (refund-requests listener, group " + REFUND_GROUP + ") is no longer stalled");
    }

    @Test
    void aBatchHangingInTheDatabase_isReportedStalledThoughItsConsumerThreadNeverReturns() throws Exception {
        UUID item = newItem(10);
        sendPurchase(item, "before-" + item);
        await().atMost(Duration.ofSeconds(60)).until(() -> outcomes().forRequest("before-" + item).size() == 1);

        // Another transaction holds the item's row: place_orders waits for the lock, and the consumer thread
        // with it, without a failure or a return. Only a watcher outside the consumer threads can see it.
        try (Connection holder = dataSource.getConnection()) {
            holder.setAutoCommit(false);
            try (PreparedStatement lock = holder.prepareStatement("select 1 from items where id = ? for update")) {
                lock.setObject(1, item);
                lock.executeQuery().close();
            }
            RecordMetadata purchase = sendPurchase(item, "hanging-" + item);
            TopicPartition partition = new TopicPartition(TOPIC, purchase.partition());

            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(stalls.stalled()).anySatisfy(stall -> {
                assertThat(stall.partition()).isEqualTo(partition);
                assertThat(stall.offset()).isEqualTo(purchase.offset());
                assertThat(stall.lastFailure()).isNull();
            }));
            holder.rollback();
        }

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(outcomes().forRequest("hanging-" + item)).hasSize(1);
            assertThat(stalls.stalled()).isEmpty();
        });
    }

    private static RecordMetadata sendPurchase(UUID item, String key) throws Exception {
        return producer().send(new ProducerRecord<>(TOPIC, item.toString(),
                json(key, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8))).get();
    }

    private static RecordMetadata sendRefund(UUID order, String key) throws Exception {
        return producer().send(new ProducerRecord<>(REFUND_TOPIC, order.toString(),
                refundJson(key, order, 1, "stall test").getBytes(StandardCharsets.UTF_8))).get();
    }
}
