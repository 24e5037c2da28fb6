package io.github.checkout.purchase;

import static io.github.checkout.support.OutcomeCollector.ORDER_CREATED;
import static io.github.checkout.support.OutcomeCollector.OUT_OF_STOCK;
import static io.github.checkout.support.OutcomeCollector.PURCHASE_REJECTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.config.InstanceId;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.HeldRowLock;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.ProducerFactory;

/** The service end to end: requests produced to Kafka, outcomes read back by a read_committed consumer. */
class PurchaseFlowIT extends IntegrationTestSupport {

    @AfterEach
    void everyOutcomeValidatesAgainstItsSchema() {
        assertThat(outcomes().schemaViolations()).isEmpty();
    }

    @Test
    void purchasesRefundsAndHoldsConsumeInConsumerGroupsOfTheirOwn(@Autowired KafkaListenerEndpointRegistry listeners) {
        assertThat(listeners.getListenerContainers()).hasSize(3)
                .extracting(container -> container.getGroupId())
                .containsExactlyInAnyOrder("order-processor", "order-processor-refunds", "order-processor-reservations");
    }

    @Test
    void everyListenerConsumesWithTheConfiguredBatchSettings(@Autowired KafkaListenerEndpointRegistry listeners) {
        assertThat(listeners.getListenerContainers()).hasSize(3).allSatisfy(container ->
                assertThat(container.getContainerProperties().getKafkaConsumerProperties())
                        .containsEntry("max.poll.records", "2000")
                        .containsEntry("fetch.min.bytes", "65536")
                        .containsEntry("fetch.max.wait.ms", "10"));
    }

    @Test
    void transactionalIdsAreThePurchaseGroupAndTheStableInstanceId(@Autowired ProducerFactory<?, ?> producers,
                                                                   @Autowired InstanceId instanceId) {
        assertThat(instanceId.value()).matches("[A-Za-z0-9._-]+-[0-9]+");
        assertThat(producers.getTransactionIdPrefix()).isEqualTo("order-processor-" + instanceId.value() + "-");
    }

    @Test
    void everyListenerIsAStaticMemberUnderTheInstanceId(@Autowired KafkaListenerEndpointRegistry listeners,
                                                        @Autowired InstanceId instanceId) {
        assertThat(listeners.getListenerContainers()).hasSize(3).allSatisfy(container ->
                assertThat(container.getContainerProperties().getKafkaConsumerProperties())
                        .containsEntry("group.instance.id", instanceId.value() + "-" + container.getListenerId()));
    }

    @Test
    void producersRetryATransactionStepAfterTenMillisecondsNotTheDefaultHundred(@Autowired ProducerFactory<?, ?> producers) {
        assertThat(producers.getConfigurationProperties()).containsEntry("retry.backoff.ms", "10");
    }

    @Test
    void lastItemBoughtTwiceAtOnce_sellsExactlyOnce(@Autowired KafkaListenerEndpointRegistry listeners) throws Exception {
        UUID item = newItem(1);
        // Two partitions read by two consumer threads: both batches queue behind a held row lock of the
        // item and go on together, so the lock place_orders takes is all that keeps them apart.
        List<Integer> partitions = await("partitions of two consumer threads").atMost(Duration.ofSeconds(30))
                .until(() -> onePartitionPerConsumerThread(listeners), found -> found.size() >= 2).subList(0, 2);
        try (HeldRowLock lock = HeldRowLock.onItem(item)) {
            for (int partition : partitions) {
                send(new ProducerRecord<>(REQUESTS, partition, item.toString(),
                        json(UUID.randomUUID().toString(), UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
            }
            producer().flush();
            lock.awaitWaiters(2, "decide_purchases");
            lock.release();
        }

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(2));
        assertThat(outcomes().forItem(item, ORDER_CREATED)).hasSize(1);
        assertThat(outcomes().forItem(item, OUT_OF_STOCK)).singleElement()
                .satisfies(o -> assertThat(o.value().get("availableStock").asInt()).isZero());
        assertThat(stockOf(item)).isZero();
        assertThat(ordersOf(item)).isEqualTo(1);
    }

    private static List<Integer> onePartitionPerConsumerThread(KafkaListenerEndpointRegistry listeners) {
        return listeners.getListenerContainers().stream()
                .filter(container -> "order-processor".equals(container.getGroupId()))
                .map(container -> container.getAssignmentsByClientId()).filter(Objects::nonNull)
                .flatMap(byClient -> byClient.values().stream())
                .map(assigned -> assigned.stream().filter(p -> p.topic().equals(REQUESTS)).findFirst())
                .flatMap(Optional::stream).map(TopicPartition::partition).toList();
    }

    @Test
    void requestsSentAgainAfterTheirDecisions_areAnsweredAsTheFirstTime() {
        UUID item = newItem(1);
        UUID missing = UUID.randomUUID();
        UUID user = UUID.randomUUID();
        String run = UUID.randomUUID().toString();
        List<String> keys = List.of("again-ordered-" + run, "again-out-of-stock-" + run, "again-rejected-" + run);
        Runnable sendAll = () -> {
            request(keys.get(0), user, item, 1);
            request(keys.get(1), user, item, 1);
            request(keys.get(2), user, missing, 1);
            producer().flush();
        };
        sendAll.run();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(keys)
                .allSatisfy(key -> assertThat(outcomes().forRequest(key)).hasSize(1)));

        // Sent once the first answers were out, so their decisions were committed: a later batch, stored decisions.
        sendAll.run();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(keys)
                .allSatisfy(key -> assertThat(outcomes().forRequest(key)).hasSize(2)));

        assertThat(keys).allSatisfy(key -> {
            Outcome first = outcomes().forRequest(key).get(0);
            Outcome again = outcomes().forRequest(key).get(1);
            assertThat(again.topic()).isEqualTo(first.topic());
            for (String field : List.of("eventId", "orderId", "remainingStock", "availableStock", "errorCode", "occurredAt")) {
                assertThat(again.value().get(field)).as(key + " " + field).isEqualTo(first.value().get(field));
            }
            assertThat(again.record().value()).isEqualTo(first.record().value());
        });
        assertThat(outcomes().forRequest(keys.get(0)).get(0).topic()).isEqualTo(ORDER_CREATED);
        assertThat(outcomes().forRequest(keys.get(1)).get(0).topic()).isEqualTo(OUT_OF_STOCK);
        assertThat(outcomes().forRequest(keys.get(2)).get(0).topic()).isEqualTo(PURCHASE_REJECTED);
        assertThat(outcomes().forRequest(keys.get(0)).get(0).text("orderId")).isEqualTo(jdbc.sql(
                "select order_id::text from purchase_decisions where idempotency_key = :key")
                .param("key", keys.get(0)).query(String.class).single());
        assertThat(stockOf(item)).isZero();
        assertThat(ordersOf(item)).isEqualTo(1);
    }

    @Test
    void thousandBuyersOverFourPartitionsWithRandomKeys_sellExactlyTheStock() {
        UUID item = newItem(10);
        for (int i = 0; i < 1000; i++) {
            send(new ProducerRecord<>(REQUESTS, i % 4, UUID.randomUUID().toString(),
                    json("buyer-" + item + "-" + i, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(1000));
        List<Outcome> orders = outcomes().forItem(item, ORDER_CREATED);
        assertThat(orders).hasSize(10);
        assertThat(orders).map(o -> o.value().get("remainingStock").asInt())
                .containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(outcomes().forItem(item, OUT_OF_STOCK)).hasSize(990)
                .allSatisfy(o -> assertThat(o.value().get("availableStock").asInt()).isZero());
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(stockOf(item)).isZero();
        assertThat(ordersOf(item)).isEqualTo(10);
    }

    @Test
    void requestDeliveredFiveTimes_isOneOrderAnsweredIdentically() {
        UUID item = newItem(5);
        UUID user = UUID.randomUUID();
        String key = "retry-" + UUID.randomUUID();
        for (int i = 0; i < 5; i++) {
            request(key, user, item, 2);
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(5));
        List<Outcome> answers = outcomes().forItem(item);
        assertThat(answers).allSatisfy(o -> assertThat(o.topic()).isEqualTo(ORDER_CREATED));
        assertThat(answers).map(o -> o.record().value()).containsOnly(answers.get(0).record().value());
        assertThat(answers.get(0).value().get("remainingStock").asInt()).isEqualTo(3);
        assertThat(answers.get(0).text("eventId")).isEqualTo(
                PurchaseService.eventId(new PurchaseRequested(new IdempotencyKey(key), user, item, 2)).toString());
        assertThat(stockOf(item)).isEqualTo(3);
        assertThat(ordersOf(item)).isEqualTo(1);
    }

    @Test
    void keyReusedWithDifferentQuantity_isRejectedAndChangesNothing() {
        UUID item = newItem(10);
        UUID user = UUID.randomUUID();
        String key = "reuse-" + UUID.randomUUID();
        request(key, user, item, 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(1));

        request(key, user, item, 3);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(2));

        Outcome first = outcomes().forItem(item, ORDER_CREATED).get(0);
        Outcome rejected = outcomes().forItem(item, PURCHASE_REJECTED).get(0);
        assertThat(rejected.text("errorCode")).isEqualTo("idempotency_key_reused");
        assertThat(rejected.text("eventId")).isNotEqualTo(first.text("eventId"));
        assertThat(stockOf(item)).isEqualTo(9);
        assertThat(ordersOf(item)).isEqualTo(1);
        assertThat(jdbc.sql("select quantity from purchase_decisions where idempotency_key = :k")
                .param("k", key).query(Integer.class).single()).isEqualTo(1);
    }

    @Test
    void unknownItemAndOutOfRangeQuantity_areRejectedWithTheirCodes() {
        UUID item = newItem(10);
        UUID missing = UUID.randomUUID();
        request("unknown-" + missing, UUID.randomUUID(), missing, 1);
        request("zero-" + item, UUID.randomUUID(), item, 0);
        request("huge-" + item, UUID.randomUUID(), item, 1001);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(outcomes().forItem(missing)).singleElement()
                    .satisfies(o -> assertThat(o.text("errorCode")).isEqualTo("item_not_found"));
            assertThat(outcomes().forItem(item, PURCHASE_REJECTED)).hasSize(2)
                    .allSatisfy(o -> assertThat(o.text("errorCode")).isEqualTo("invalid_quantity"));
        });
        assertThat(stockOf(item)).isEqualTo(10);
    }

    @Test
    void outOfStockStaysOutOfStockAfterARestock() {
        UUID item = newItem(0);
        UUID user = UUID.randomUUID();
        String key = "restock-" + UUID.randomUUID();
        request(key, user, item, 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(1));

        jdbc.sql("update items set stock = 5 where id = :id").param("id", item).update();
        request(key, user, item, 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(2));

        Set<String> answers = outcomes().forItem(item).stream().map(o -> o.topic() + o.record().value())
                .collect(Collectors.toSet());
        assertThat(answers).singleElement().asString().startsWith(OUT_OF_STOCK);
        assertThat(stockOf(item)).isEqualTo(5);
    }
}
