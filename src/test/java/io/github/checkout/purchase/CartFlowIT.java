package io.github.checkout.purchase;

import static io.github.checkout.support.OutcomeCollector.ORDER_CREATED;
import static io.github.checkout.support.OutcomeCollector.ORDER_REFUNDED;
import static io.github.checkout.support.OutcomeCollector.OUT_OF_STOCK;
import static io.github.checkout.support.OutcomeCollector.PURCHASE_REJECTED;
import static io.github.checkout.support.OutcomeCollector.REFUND_REJECTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.refund.RefundRequested;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Carts end to end: cart requests produced to Kafka, keyed by user, outcomes read back by a read_committed consumer. */
class CartFlowIT extends IntegrationTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @AfterEach
    void everyOutcomeValidatesAgainstItsSchema() {
        assertThat(outcomes().schemaViolations()).isEmpty();
    }

    @Test
    void cartOfThreeItems_isOneOrderWithItsLinesAndRemainingStocks() {
        UUID camera = newItem(5);
        UUID lens = newItem(3);
        UUID bag = newItem(1);
        UUID user = UUID.randomUUID();
        String key = "cart-" + UUID.randomUUID();

        cart(key, user, Map.of(camera, 2), Map.of(lens, 1), Map.of(bag, 1));

        Outcome created = only(key);
        assertThat(created.topic()).isEqualTo(ORDER_CREATED);
        assertThat(created.record().key()).isEqualTo(user.toString());
        assertThat(lines(created.value())).containsExactly(
                camera + " 2 3", lens + " 1 2", bag + " 1 0");
        assertThat(created.value().has("itemId")).isFalse();
        assertThat(created.text("eventId")).isEqualTo(PurchaseService.eventId(cartRequest(key, user)).toString());
        assertThat(List.of(stockOf(camera), stockOf(lens), stockOf(bag))).containsExactly(3, 2, 0);
        assertThat(ordersWith(camera)).containsExactly(UUID.fromString(created.text("orderId")));
    }

    @Test
    void cartWithOneShortLine_isOutOfStockNamingOnlyThatLine_andTakesNothing() {
        UUID plenty = newItem(5);
        UUID scarce = newItem(1);
        String key = "cart-short-" + UUID.randomUUID();

        cart(key, UUID.randomUUID(), Map.of(plenty, 2), Map.of(scarce, 2));

        Outcome outOfStock = only(key);
        assertThat(outOfStock.topic()).isEqualTo(OUT_OF_STOCK);
        assertThat(outOfStock.value().get("lines")).singleElement().satisfies(line -> {
            assertThat(line.get("itemId").asString()).isEqualTo(scarce.toString());
            assertThat(line.get("requestedQuantity").asInt()).isEqualTo(2);
            assertThat(line.get("availableStock").asInt()).isEqualTo(1);
        });
        assertThat(List.of(stockOf(plenty), stockOf(scarce))).containsExactly(5, 1);
        assertThat(ordersWith(plenty)).isEmpty();
    }

    @Test
    void cartDeliveredFiveTimes_isOneOrderAnsweredIdentically() {
        UUID a = newItem(4);
        UUID b = newItem(4);
        UUID user = UUID.randomUUID();
        String key = "cart-retry-" + UUID.randomUUID();
        for (int i = 0; i < 5; i++) {
            send(user.toString(), cartJson(key, user, List.of(line(a, 1), line(b, 2), line(a, 1))));
        }
        producer().flush();

        await().atMost(WAIT).untilAsserted(() -> assertThat(outcomes().forRequest(key)).hasSize(5));
        List<Outcome> answers = outcomes().forRequest(key);
        assertThat(answers).allSatisfy(o -> assertThat(o.topic()).isEqualTo(ORDER_CREATED));
        assertThat(answers).map(o -> o.record().value()).containsOnly(answers.get(0).record().value());
        assertThat(answers).map(o -> o.text("eventId")).containsOnly(PurchaseService.eventId(cartRequest(key, user)).toString());
        assertThat(lines(answers.get(0).value())).as("lines of one item merged").containsExactly(a + " 2 2", b + " 2 2");
        assertThat(ordersWith(a)).hasSize(1);
        assertThat(List.of(stockOf(a), stockOf(b))).containsExactly(2, 2);
    }

    @Test
    void cartKeyReusedWithOtherLines_isRejectedAndChangesNothing() {
        UUID a = newItem(4);
        UUID b = newItem(4);
        UUID user = UUID.randomUUID();
        String key = "cart-reuse-" + UUID.randomUUID();
        cart(key, user, Map.of(a, 1), Map.of(b, 1));
        await().atMost(WAIT).untilAsserted(() -> assertThat(outcomes().forRequest(key)).hasSize(1));

        send(user.toString(), cartJson(key, user, List.of(line(a, 1), line(b, 2))));

        await().atMost(WAIT).untilAsserted(() -> assertThat(outcomes().forRequest(key)).hasSize(2));
        Outcome first = outcomes().forRequest(key).get(0);
        Outcome reused = outcomes().forRequest(key).get(1);
        assertThat(first.topic()).isEqualTo(ORDER_CREATED);
        assertThat(reused.topic()).isEqualTo(PURCHASE_REJECTED);
        assertThat(reused.text("errorCode")).isEqualTo("idempotency_key_reused");
        assertThat(reused.value().has("lines")).isFalse();
        assertThat(reused.text("eventId")).isNotEqualTo(first.text("eventId"));
        assertThat(List.of(stockOf(a), stockOf(b))).containsExactly(3, 3);
    }

    @Test
    void emptyCartAndCartOfFiftyOneLines_areRejectedWithTheirCodes() {
        UUID a = newItem(100);
        String empty = "cart-empty-" + UUID.randomUUID();
        String tooMany = "cart-51-" + UUID.randomUUID();
        UUID user = UUID.randomUUID();
        send(user.toString(), cartJson(empty, user, List.of()));
        send(user.toString(), cartJson(tooMany, user, Collections.nCopies(51, line(a, 1))));

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(outcomes().forRequest(empty)).hasSize(1);
            assertThat(outcomes().forRequest(tooMany)).hasSize(1);
        });
        assertThat(only(empty).topic()).isEqualTo(PURCHASE_REJECTED);
        assertThat(only(empty).text("errorCode")).isEqualTo("empty_cart");
        assertThat(only(empty).text("message")).isEqualTo(ErrorCode.EMPTY_CART.message());
        assertThat(only(tooMany).text("errorCode")).isEqualTo("too_many_lines");
        assertThat(only(tooMany).value().has("lines")).isFalse();
        assertThat(only(tooMany).record().key()).isEqualTo(user.toString());
        assertThat(stockOf(a)).isEqualTo(100);
    }

    @Test
    void cartOrder_refundedLineByLineThenWhole_putsEachLineBackOnce() {
        UUID a = newItem(5);
        UUID b = newItem(5);
        UUID c = newItem(5);
        String key = "cart-refund-" + UUID.randomUUID();
        cart(key, UUID.randomUUID(), Map.of(a, 2), Map.of(b, 1), Map.of(c, 3));
        UUID order = UUID.fromString(only(key).text("orderId"));

        refund(order, "line-" + key, a, 1);
        Outcome line = only("line-" + key);
        assertThat(line.topic()).isEqualTo(ORDER_REFUNDED);
        assertThat(line.record().key()).isEqualTo(order.toString());
        assertThat(line.value().get("quantity").asInt()).isEqualTo(1);
        assertThat(lines(line.value())).containsExactly(a + " 1 4");
        assertThat(line.value().has("itemId")).isFalse();

        refund(order, "unknown-line-" + key, UUID.randomUUID(), null);
        refund(order, "no-line-" + key, null, 1);
        assertThat(only("unknown-line-" + key).text("errorCode")).isEqualTo("line_not_found");
        assertThat(only("no-line-" + key).text("errorCode")).isEqualTo("item_required");
        assertThat(only("no-line-" + key).topic()).isEqualTo(REFUND_REJECTED);

        refund(order, "whole-" + key, null, null);
        Outcome whole = only("whole-" + key);
        assertThat(whole.topic()).isEqualTo(ORDER_REFUNDED);
        assertThat(whole.value().get("quantity").asInt()).isEqualTo(5);
        assertThat(lines(whole.value())).containsExactlyInAnyOrder(a + " 1 5", b + " 1 5", c + " 3 5");
        assertThat(List.of(stockOf(a), stockOf(b), stockOf(c))).containsExactly(5, 5, 5);

        refund(order, "again-" + key, a, null);
        assertThat(only("again-" + key).text("errorCode")).isEqualTo("already_refunded");
    }

    private void refund(UUID order, String key, UUID item, Integer quantity) {
        String json = "{\"idempotencyKey\":\"%s\",\"orderId\":\"%s\"%s%s,\"reason\":\"%s\"}".formatted(key, order,
                item == null ? "" : ",\"itemId\":\"" + item + "\"", quantity == null ? "" : ",\"quantity\":" + quantity,
                RefundRequested.CUSTOMER_RETURN);
        send(new ProducerRecord<>(REFUNDS, order.toString(), json.getBytes(StandardCharsets.UTF_8)));
    }

    /** Sends a cart of one-entry maps (item to quantity), keyed by user, and waits for its outcome. */
    @SafeVarargs
    private static void cart(String key, UUID user, Map<UUID, Integer>... lines) {
        List<String> json = new ArrayList<>();
        for (Map<UUID, Integer> l : lines) {
            l.forEach((item, quantity) -> json.add(line(item, quantity)));
        }
        send(user.toString(), cartJson(key, user, json));
        await().atMost(WAIT).untilAsserted(() -> assertThat(outcomes().forRequest(key)).hasSize(1));
    }

    private static String line(UUID item, int quantity) {
        return "{\"itemId\":\"%s\",\"quantity\":%d}".formatted(item, quantity);
    }

    private static String cartJson(String key, UUID user, List<String> lines) {
        return "{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",\"lines\":[%s]}".formatted(key, user, String.join(",", lines));
    }

    /** A request that only serves to name the event id: the id depends on the key alone. */
    private static PurchaseRequested cartRequest(String key, UUID user) {
        return PurchaseRequested.cart(new IdempotencyKey(key), user, List.of());
    }
}
