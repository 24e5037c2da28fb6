package io.github.checkout.refund;

import static io.github.checkout.support.OutcomeCollector.ORDER_CREATED;
import static io.github.checkout.support.OutcomeCollector.ORDER_REFUNDED;
import static io.github.checkout.support.OutcomeCollector.OUT_OF_STOCK;
import static io.github.checkout.support.OutcomeCollector.REFUND_DEAD_LETTER;
import static io.github.checkout.support.OutcomeCollector.REFUND_REJECTED;
import static io.github.checkout.support.OutcomeCollector.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Refunds end to end: requests produced to Kafka, outcomes read back by a read_committed consumer. */
class RefundFlowIT extends IntegrationTestSupport {

    @AfterEach
    void everyOutcomeValidatesAgainstItsSchema() {
        assertThat(outcomes().schemaViolations()).isEmpty();
    }

    @Test
    void twoRefundsOfOneOrderAtOnce_restockOnce() throws Exception {
        UUID item = newItem(1);
        UUID order = newOrder(item, 1);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService agents = Executors.newFixedThreadPool(2);
        for (int partition = 0; partition < 2; partition++) {
            int p = partition;
            agents.submit(() -> {
                start.await();
                send(new ProducerRecord<>(REFUNDS, p, order.toString(), refundJson(UUID.randomUUID().toString(), order,
                        null, RefundRequested.CANCELLED).getBytes(StandardCharsets.UTF_8)));
                return null;
            });
        }
        start.countDown();
        agents.shutdown();
        assertThat(agents.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(2));
        assertThat(outcomes().forItem(item, ORDER_REFUNDED)).singleElement().satisfies(o -> {
            assertThat(o.value().get("quantity").asInt()).isEqualTo(1);
            assertThat(o.value().get("remainingStock").asInt()).isEqualTo(1);
        });
        assertThat(outcomes().forItem(item, REFUND_REJECTED)).singleElement()
                .satisfies(o -> assertThat(o.text("errorCode")).isEqualTo("already_refunded"));
        assertThat(stockOf(item)).isEqualTo(1);
        assertThat(refundedOf(order)).isEqualTo(1);
    }

    @Test
    void refundDeliveredFiveTimes_isOneRestockAnsweredIdentically() {
        UUID item = newItem(5);
        UUID order = newOrder(item, 3);
        String key = "refund-retry-" + UUID.randomUUID();
        for (int i = 0; i < 5; i++) {
            refund(key, order, 2, RefundRequested.CUSTOMER_RETURN);
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(5));
        List<Outcome> answers = outcomes().forItem(item);
        assertThat(answers).allSatisfy(o -> assertThat(o.topic()).isEqualTo(ORDER_REFUNDED));
        assertThat(answers).map(o -> o.record().value()).containsOnly(answers.get(0).record().value());
        assertThat(answers.get(0).value().get("remainingStock").asInt()).isEqualTo(4);
        assertThat(answers.get(0).text("orderId")).isEqualTo(order.toString());
        assertThat(answers.get(0).text("eventId")).isEqualTo(
                RefundService.eventId(new RefundRequested(new IdempotencyKey(key), order, 2, RefundRequested.CUSTOMER_RETURN))
                        .toString());
        assertThat(stockOf(item)).isEqualTo(4);
        assertThat(refundedOf(order)).isEqualTo(2);
    }

    @Test
    void refundsRacingFiveHundredBuyers_neverSellMoreThanInitialStockPlusRefunds() {
        int initialStock = 20;
        UUID item = newItem(initialStock);
        List<UUID> earlierOrders = new ArrayList<>();
        for (int i = 0; i < initialStock; i++) {
            earlierOrders.add(newOrder(item, 1));
        }
        int refunds = 10;
        for (int i = 0; i < 500; i++) {
            send(new ProducerRecord<>(REQUESTS, i % 4, UUID.randomUUID().toString(),
                    json("racer-" + item + "-" + i, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
            if (i % 50 == 25) {
                UUID order = earlierOrders.get(i / 50);
                send(new ProducerRecord<>(REFUNDS, i % 4, order.toString(), refundJson("race-refund-" + order, order,
                        null, i % 100 == 25 ? RefundRequested.PAYMENT_FAILED : RefundRequested.CUSTOMER_RETURN)
                        .getBytes(StandardCharsets.UTF_8)));
            }
        }
        producer().flush();

        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            assertThat(outcomes().forItem(item, ORDER_REFUNDED)).hasSize(refunds);
            assertThat(outcomes().forItem(item, ORDER_CREATED).size() + outcomes().forItem(item, OUT_OF_STOCK).size())
                    .isEqualTo(500);
        });
        int sold = ordersOf(item) - initialStock;
        assertThat(outcomes().forItem(item, ORDER_CREATED)).hasSize(sold);
        assertThat(ordersOf(item)).isLessThanOrEqualTo(initialStock + refunds);
        assertThat(ordersOf(item) + stockOf(item)).isEqualTo(initialStock + refunds);
        assertThat(auditViolations()).isEmpty();

        // Whatever the refunds put back after the last racer was decided is still for sale, and no more.
        int left = stockOf(item);
        for (int i = 0; i < left + 5; i++) {
            request("late-" + item + "-" + i, UUID.randomUUID(), item, 1);
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(
                () -> assertThat(outcomes().forItem(item)).hasSize(500 + refunds + left + 5));
        assertThat(ordersOf(item)).isEqualTo(initialStock + refunds);
        assertThat(stockOf(item)).isZero();
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void paymentFailureCancellingTheLastItemsOrder_letsTheNextBuyerBuyIt() {
        UUID item = newItem(1);
        request("first-" + item, UUID.randomUUID(), item, 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(1));
        UUID order = UUID.fromString(outcomes().forItem(item, ORDER_CREATED).get(0).text("orderId"));
        request("too-late-" + item, UUID.randomUUID(), item, 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item, OUT_OF_STOCK)).hasSize(1));

        refund("payment-" + order, order, null, RefundRequested.PAYMENT_FAILED);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item, ORDER_REFUNDED))
                .singleElement().satisfies(o -> assertThat(o.value().get("remainingStock").asInt()).isEqualTo(1)));
        request("next-" + item, UUID.randomUUID(), item, 1);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forItem(item, ORDER_CREATED)).hasSize(2));
        assertThat(outcomes().forRequest("next-" + item)).singleElement()
                .satisfies(o -> assertThat(o.value().get("remainingStock").asInt()).isZero());
        assertThat(stockOf(item)).isZero();
        assertThat(jdbc.sql("select status from orders where id = :id").param("id", order).query(String.class).single())
                .isEqualTo("refunded");
    }

    @Test
    void unknownOrderAndReusedKey_areRejectedWithTheirCodes() {
        UUID item = newItem(2);
        UUID order = newOrder(item, 1);
        UUID missing = UUID.randomUUID();
        String key = "refund-reuse-" + order;
        refund("refund-unknown-" + missing, missing, null, RefundRequested.CANCELLED);
        refund(key, order, 1, RefundRequested.CANCELLED);
        producer().flush();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes().forRequest(key)).hasSize(1));
        refund(key, order, 1, "changed my mind");

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(outcomes().forItem(missing)).singleElement().satisfies(o -> {
                assertThat(o.topic()).isEqualTo(REFUND_REJECTED);
                assertThat(o.text("errorCode")).isEqualTo("order_not_found");
                assertThat(o.value().get("itemId").isNull()).isTrue();
            });
            assertThat(outcomes().forRequest(key)).hasSize(2);
        });
        Outcome first = outcomes().forRequest(key).get(0);
        Outcome reused = outcomes().forRequest(key).get(1);
        assertThat(first.topic()).isEqualTo(ORDER_REFUNDED);
        assertThat(reused.text("errorCode")).isEqualTo("idempotency_key_reused");
        assertThat(reused.text("eventId")).isNotEqualTo(first.text("eventId"));
        assertThat(stockOf(item)).isEqualTo(2);
    }

    @Test
    void malformedAndSchemaViolatingRefunds_areDeadLetteredWithTheirReasonAndValidOnesBehindThemDecided() {
        UUID item = newItem(3);
        UUID order = newOrder(item, 2);
        String tag = UUID.randomUUID().toString();
        for (String poison : List.of(
                "{\"idempotencyKey\":\"" + tag + "\", oops",
                "{\"idempotencyKey\":\"" + tag + "\",\"orderId\":\"" + order + "\"}",
                "{\"idempotencyKey\":\"" + tag + "\",\"orderId\":\"" + order + "\",\"reason\":\"" + "r".repeat(201) + "\"}",
                "{\"idempotencyKey\":\"" + tag + "\",\"orderId\":\"" + order + "\",\"quantity\":1.5,\"reason\":\"cancelled\"}")) {
            send(new ProducerRecord<>(REFUNDS, 0, order.toString(), poison.getBytes(StandardCharsets.UTF_8)));
        }
        send(new ProducerRecord<>(REFUNDS, 0, order.toString(),
                refundJson(tag + "-valid", order, 1, "free text: arrived damaged").getBytes(StandardCharsets.UTF_8)));
        producer().flush();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(deadLetters(tag)).hasSize(4);
            assertThat(outcomes().forItem(item, ORDER_REFUNDED)).hasSize(1);
        });
        List<Outcome> dead = deadLetters(tag);
        assertThat(dead).map(o -> headers(o.record(), "dlt-reason").get(0))
                .containsExactly("malformed_json", "schema_violation", "schema_violation", "schema_violation");
        assertThat(headers(dead.get(1).record(), "dlt-error").get(0)).contains("reason");
        assertThat(headers(dead.get(2).record(), "dlt-error").get(0)).contains("/reason");
        assertThat(headers(dead.get(3).record(), "dlt-error").get(0)).contains("/quantity");
        assertThat(headers(dead.get(0).record(), "dlt-original-topic")).containsExactly(REFUNDS);
        assertThat(stockOf(item)).isEqualTo(2);
    }

    private static List<Outcome> deadLetters(String tag) {
        return outcomes().deadLetters().stream()
                .filter(o -> o.topic().equals(REFUND_DEAD_LETTER) && o.record().value().contains(tag)).toList();
    }
}
