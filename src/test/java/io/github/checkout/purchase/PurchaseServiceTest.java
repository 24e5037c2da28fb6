package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.request.IdempotencyKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class PurchaseServiceTest {

    private static final UUID USER = UUID.fromString("7d8f3c1e-2b4a-4f6e-9a1b-3c5d7e9f1a2b");
    private static final UUID ITEM = UUID.fromString("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9");
    private static final Instant DECIDED_AT = Instant.parse("2026-11-30T12:00:00Z");
    private static final PurchaseGateway.Decision ORDER_CREATED = new PurchaseGateway.Decision(
            PurchaseOutcome.Kind.ORDER_CREATED, UUID.randomUUID(), 4, null, DECIDED_AT, false);
    private static final PurchaseGateway.Decision OUT_OF_STOCK = new PurchaseGateway.Decision(
            PurchaseOutcome.Kind.OUT_OF_STOCK, null, 0, null, DECIDED_AT, false);

    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void anErrorCodeThisVersionDoesNotKnow_passesThroughAsStoredWithAMessageThatSaysSo() {
        var request = new PurchaseRequested(new IdempotencyKey("key-1"), UUID.randomUUID(), UUID.randomUUID(), 1);
        var decision = new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, "held_elsewhere",
                Instant.parse("2026-11-30T12:00:00Z"), false);

        PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("held_elsewhere");
        assertThat(rejected.message()).contains("held_elsewhere", "does not know");
        assertThat(rejected.eventId()).isEqualTo(PurchaseService.eventId(request));
        assertThat(RequestReader.loadSchema("schemas/purchase-rejected.schema.json")
                .validate(json.valueToTree(rejected))).isEmpty();
    }

    @Test
    void aKnownErrorCode_keepsItsMessage() {
        var request = new PurchaseRequested(new IdempotencyKey("key-2"), UUID.randomUUID(), UUID.randomUUID(), 1);
        var decision = new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, "item_not_found", Instant.now(), false);

        PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(request, decision);

        assertThat(rejected.errorCode()).isEqualTo("item_not_found");
        assertThat(rejected.message()).isEqualTo(ErrorCode.ITEM_NOT_FOUND.message());
    }

    @Test
    void everyOutcomeOfAKey_carriesTheIdNamedAfterTheKey() {
        var request = new PurchaseRequested(new IdempotencyKey("key-3"), USER, ITEM, 1);
        UUID id = UUID.nameUUIDFromBytes("purchase:key-3".getBytes(StandardCharsets.UTF_8));

        assertThat(PurchaseService.eventId(request)).isEqualTo(id);
        assertThat(PurchaseService.toOutcome(request, ORDER_CREATED).eventId()).isEqualTo(id);
        assertThat(PurchaseService.toOutcome(request, OUT_OF_STOCK).eventId()).isEqualTo(id);
        assertThat(PurchaseService.toOutcome(request, rejected("invalid_quantity")).eventId()).isEqualTo(id);
    }

    @Test
    void aReusedKeysRejection_hasAnIdOfItsOwn_theSameOnEveryRedelivery() {
        var first = new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 1);
        var conflicting = new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 2);
        var reused = rejected(ErrorCode.IDEMPOTENCY_KEY_REUSED.code());

        UUID id = PurchaseService.toOutcome(conflicting, reused).eventId();

        assertThat(id).isEqualTo(UUID.nameUUIDFromBytes(("purchase:key-4:reused:" + USER + ":" + ITEM + ":2")
                .getBytes(StandardCharsets.UTF_8)));
        assertThat(PurchaseService.toOutcome(new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 2), reused)
                .eventId()).as("a redelivery of the conflicting request").isEqualTo(id);
        assertThat(id).as("the first decision's id").isNotEqualTo(PurchaseService.toOutcome(first, ORDER_CREATED).eventId());
        assertThat(PurchaseService.toOutcome(new PurchaseRequested(new IdempotencyKey("key-4"), USER, ITEM, 3), reused)
                .eventId()).as("another conflicting request").isNotEqualTo(id);
    }

    private static final UUID OTHER = UUID.fromString("1c2d3e4f-5061-4728-93a4-b5c6d7e8f90a");
    private static final UUID THIRD = UUID.fromString("2d3e4f50-6172-4839-a4b5-c6d7e8f90a1b");
    private static final PurchaseRequested CART = PurchaseRequested.cart(new IdempotencyKey("cart-1"), USER, List.of(
            new PurchaseRequested.Line(ITEM, 1), new PurchaseRequested.Line(OTHER, 2), new PurchaseRequested.Line(ITEM, 1),
            new PurchaseRequested.Line(THIRD, 1)));

    @Test
    void cartOrder_namesEveryMergedLineWithItsRemainingStock_andNoSingleItemFields() {
        UUID order = UUID.randomUUID();
        var decision = cartDecision(PurchaseOutcome.Kind.ORDER_CREATED, order, null,
                new PurchaseGateway.Line(ITEM, 2, 8, null), new PurchaseGateway.Line(OTHER, 2, 0, null),
                new PurchaseGateway.Line(THIRD, 1, 4, null));

        OrderCreated created = (OrderCreated) PurchaseService.toOutcome(CART, decision);

        assertThat(created.lines()).containsExactly(new OrderCreated.Line(ITEM, 2, 8), new OrderCreated.Line(OTHER, 2, 0),
                new OrderCreated.Line(THIRD, 1, 4));
        assertThat(created.orderId()).isEqualTo(order);
        assertThat(created.eventId()).isEqualTo(PurchaseService.eventId(CART));
        assertThat(created.userId()).isEqualTo(USER);
        assertThat(json.valueToTree(created).propertyNames()).containsExactly(
                "eventId", "idempotencyKey", "orderId", "userId", "lines", "occurredAt");
        assertValid("order-created", created);
    }

    @Test
    void cartOutOfStock_namesOnlyTheShortLines() {
        var decision = cartDecision(PurchaseOutcome.Kind.OUT_OF_STOCK, null, null,
                new PurchaseGateway.Line(ITEM, 2, 5, null), new PurchaseGateway.Line(OTHER, 2, 1, null),
                new PurchaseGateway.Line(THIRD, 1, 1, null));

        OutOfStock outOfStock = (OutOfStock) PurchaseService.toOutcome(CART, decision);

        assertThat(outOfStock.lines()).containsExactly(new OutOfStock.Line(OTHER, 2, 1));
        assertThat(outOfStock.itemId()).isNull();
        assertThat(outOfStock.requestedQuantity()).isNull();
        assertThat(json.valueToTree(outOfStock).propertyNames()).containsExactly(
                "eventId", "idempotencyKey", "userId", "lines", "occurredAt");
        assertValid("out-of-stock", outOfStock);
    }

    @Test
    void cartRejectedForItsLines_namesOnlyTheOffendingLines() {
        var decision = cartDecision(PurchaseOutcome.Kind.REJECTED, null, "item_not_found",
                new PurchaseGateway.Line(ITEM, 2, null, null), new PurchaseGateway.Line(OTHER, 2, null, "item_not_found"),
                new PurchaseGateway.Line(THIRD, 1, null, null));

        PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(CART, decision);

        assertThat(rejected.lines()).containsExactly(new PurchaseRejected.Line(OTHER, 2, "item_not_found"));
        assertThat(rejected.errorCode()).isEqualTo("item_not_found");
        assertThat(rejected.itemId()).isNull();
        assertThat(rejected.eventId()).isEqualTo(PurchaseService.eventId(CART));
        assertValid("purchase-rejected", rejected);
    }

    @Test
    void cartRejectedAsAWhole_hasNoLines() {
        for (String code : List.of("empty_cart", "too_many_lines", "idempotency_key_reused")) {
            PurchaseRejected rejected = (PurchaseRejected) PurchaseService.toOutcome(CART, cartDecision(PurchaseOutcome.Kind.REJECTED,
                    null, code));

            assertThat(rejected.lines()).as(code).isNull();
            assertThat(rejected.message()).as(code).isEqualTo(ErrorCode.messageFor(code)).doesNotContain("does not know");
            assertThat(json.valueToTree(rejected).propertyNames()).as(code).containsExactly(
                    "eventId", "idempotencyKey", "userId", "errorCode", "message", "occurredAt");
            assertValid("purchase-rejected", rejected);
        }
    }

    @Test
    void aReusedCartKeysRejection_hasAnIdNamedAfterTheLinesAsSent_theSameOnEveryRedelivery() {
        var reused = rejected(ErrorCode.IDEMPOTENCY_KEY_REUSED.code());
        UUID id = PurchaseService.toOutcome(CART, reused).eventId();

        assertThat(id).isEqualTo(UUID.nameUUIDFromBytes(("purchase:cart-1:reused:" + USER + ":[" + ITEM + ":1," + OTHER + ":2,"
                + ITEM + ":1," + THIRD + ":1]").getBytes(StandardCharsets.UTF_8)));
        assertThat(PurchaseService.toOutcome(PurchaseRequested.cart(new IdempotencyKey("cart-1"), USER, List.copyOf(CART.lines())),
                reused).eventId()).as("a redelivery").isEqualTo(id);
        assertThat(id).as("the first decision's id").isNotEqualTo(PurchaseService.eventId(CART));
        assertThat(PurchaseService.toOutcome(PurchaseRequested.cart(new IdempotencyKey("cart-1"), USER,
                List.of(new PurchaseRequested.Line(ITEM, 1))), reused).eventId()).as("other lines").isNotEqualTo(id);
        assertThat(PurchaseService.toOutcome(PurchaseRequested.cart(new IdempotencyKey("cart-1"), USER,
                List.of(new PurchaseRequested.Line(ITEM, 2))), reused).eventId()).as("a one-line cart is not the single request")
                .isNotEqualTo(PurchaseService.toOutcome(new PurchaseRequested(new IdempotencyKey("cart-1"), USER, ITEM, 2), reused)
                        .eventId());
    }

    @Test
    void aRequestIsOneItemOrACart_neverBothOrNeither() {
        var key = new IdempotencyKey("k");
        assertThatThrownBy(() -> new PurchaseRequested(key, USER, ITEM, 1, List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PurchaseRequested(key, USER, null, 0, null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(PurchaseRequested.cart(key, USER, List.of()).isCart()).isTrue();
        assertThat(new PurchaseRequested(key, USER, ITEM, 1).isCart()).isFalse();
    }

    @Test
    void aHold_isStockReserved_withItsReservationAndEnd_singleItemOrCart() {
        UUID hold = UUID.randomUUID();
        Instant expires = DECIDED_AT.plusSeconds(300);
        var single = new PurchaseRequested(new IdempotencyKey("hold-1"), USER, ITEM, 2).withHoldFor(Duration.ofMinutes(5));
        var cart = PurchaseRequested.cart(new IdempotencyKey("hold-2"), USER, List.of(new PurchaseRequested.Line(ITEM, 2)))
                .withHoldFor(Duration.ofMinutes(5));

        var reservedItem = PurchaseService.toOutcome(single, new PurchaseGateway.Decision(PurchaseOutcome.Kind.STOCK_RESERVED, null, 3,
                null, DECIDED_AT, false, null, hold, expires));
        var reservedCart = PurchaseService.toOutcome(cart, new PurchaseGateway.Decision(PurchaseOutcome.Kind.STOCK_RESERVED, null, null,
                null, DECIDED_AT, false, List.of(new PurchaseGateway.Line(ITEM, 2, 3, null)), hold, expires));

        assertThat(reservedItem).isEqualTo(new StockReserved(PurchaseService.eventId(single), "hold-1", hold, USER, ITEM, 2, 3, null,
                expires, DECIDED_AT));
        assertThat(reservedCart).isEqualTo(new StockReserved(PurchaseService.eventId(cart), "hold-2", hold, USER, null, null, null,
                List.of(new OrderCreated.Line(ITEM, 2, 3)), expires, DECIDED_AT));
        assertValid("stock-reserved", reservedItem);
        assertValid("stock-reserved", reservedCart);
        assertThat(PurchaseService.toOutcome(single, rejected("invalid_hold"))).isInstanceOfSatisfying(PurchaseRejected.class,
                r -> assertThat(r.message()).isEqualTo(ErrorCode.INVALID_HOLD.message()));
    }

    @Test
    void aKeyReusedForAnotherHold_isRejectedUnderAnIdOfItsOwn() {
        var reused = rejected("idempotency_key_reused");
        var buyNow = new PurchaseRequested(new IdempotencyKey("hold-3"), USER, ITEM, 1);

        UUID fiveMinutes = PurchaseService.toOutcome(buyNow.withHoldFor(Duration.ofMinutes(5)), reused).eventId();

        assertThat(fiveMinutes).isNotEqualTo(PurchaseService.toOutcome(buyNow, reused).eventId())
                .isNotEqualTo(PurchaseService.toOutcome(buyNow.withHoldFor(Duration.ofMinutes(6)), reused).eventId())
                .isEqualTo(PurchaseService.toOutcome(buyNow.withHoldFor(Duration.ofMinutes(5)), reused).eventId());
    }

    private static PurchaseGateway.Decision cartDecision(PurchaseOutcome.Kind kind, UUID order, String code,
                                                         PurchaseGateway.Line... lines) {
        return new PurchaseGateway.Decision(kind, order, null, code, DECIDED_AT, false, lines.length == 0 ? null : List.of(lines));
    }

    private void assertValid(String schema, Object event) {
        assertThat(RequestReader.loadSchema("schemas/" + schema + ".schema.json").validate(json.valueToTree(event)))
                .as("%s", event).isEmpty();
    }

    private static PurchaseGateway.Decision rejected(String code) {
        return new PurchaseGateway.Decision(PurchaseOutcome.Kind.REJECTED, null, null, code, DECIDED_AT, false);
    }
}
