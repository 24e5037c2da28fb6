package io.github.checkout.reservation;

import static io.github.checkout.support.DecideCalls.MAX_HOLD;
import static io.github.checkout.support.DecideCalls.decidePurchase;
import static io.github.checkout.support.DecideCalls.decidePurchases;
import static io.github.checkout.support.DecideCalls.decideRefund;
import static io.github.checkout.support.DecideCalls.decideReservation;
import static io.github.checkout.support.DecideCalls.decideReservations;
import static io.github.checkout.support.DecideCalls.sweep;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.Concurrently;
import io.github.checkout.support.DecideCalls.Line;
import io.github.checkout.support.DecideCalls.Purchase;
import io.github.checkout.support.DecideCalls.PurchaseAnswer;
import io.github.checkout.support.DecideCalls.Refund;
import io.github.checkout.support.DecideCalls.Reservation;
import io.github.checkout.support.DecideCalls.ReservationAnswer;
import io.github.checkout.support.HeldRowLock;
import io.github.checkout.support.IntegrationTestSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * decide_purchases with holds, decide_reservations and sweep_reservations called directly, as the service's role
 * calls them: every hold ends exactly once, confirmed, released or expired, and every expiry is announced once.
 * The service's own sweep stays out of the way: these tests sweep and announce by hand.
 */
class HoldFunctionIT extends IntegrationTestSupport {

    /** Due almost at once: the tests wait for it on the database's clock. */
    private static final Duration SHORT = Duration.ofMillis(5);
    private static final Duration MINUTE = Duration.ofMinutes(1);
    /** No expiry is sent again within a test. */
    private static final Duration NEVER_AGAIN = Duration.ofHours(1);

    private enum Race {
        /** The confirmation, begun before the hold was due, takes the item's lock first: it confirms. */
        CONFIRM_FIRST,
        /** The sweep takes the item's lock first: it expires the hold, and the confirmation finds it expired. */
        SWEEP_FIRST,
        /** The confirmation takes the lock first, but began after the hold was due: it expires the hold itself. */
        CONFIRM_BEGUN_LATE
    }

    @Test
    void aConfirmationRacingTheExpiry200Times_endsEachHoldExactlyOnce() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(2);
        SingleConnectionDataSource confirmConnection = Concurrently.connection();
        SingleConnectionDataSource sweepConnection = Concurrently.connection();
        Map<Race, Integer> confirmed = new java.util.EnumMap<>(Race.class);
        try {
            confirmConnection.getConnection().setAutoCommit(false);
            JdbcClient confirmer = JdbcClient.create(confirmConnection);
            JdbcClient sweeper = JdbcClient.create(sweepConnection);
            for (int round = 0; round < 200; round++) {
                Race race = Race.values()[round % Race.values().length];
                UUID item = newItem(1);
                // "Passed" is measured against the start of the deciding transaction: the confirmation's begins
                // before the hold is placed (so before it is due), or, begun late, once it is due.
                if (race != Race.CONFIRM_BEGUN_LATE) {
                    confirmer.sql("select now()").query().singleValue();
                }
                PurchaseAnswer hold = decidePurchase(jdbc, Purchase.single("race-" + item, UUID.randomUUID(), item, 1).held(SHORT));
                assertThat(hold.outcome()).isEqualTo("STOCK_RESERVED");
                UUID id = hold.reservationId();
                awaitDue(id);
                if (race == Race.CONFIRM_BEGUN_LATE) {
                    confirmer.sql("select now()").query().singleValue();
                }
                ReservationAnswer answer;
                List<UUID> swept;
                try (HeldRowLock lock = HeldRowLock.onItem(item)) {
                    Future<ReservationAnswer> confirm;
                    Future<List<UUID>> sweep;
                    if (race == Race.SWEEP_FIRST) {
                        sweep = callers.submit(() -> sweep(sweeper, 1_000, NEVER_AGAIN));
                        lock.awaitWaiters(1, "sweep_reservations");
                        confirm = callers.submit(() -> confirmCommitted(confirmConnection, confirmer, "confirm-" + id, id));
                        lock.awaitWaiters(1, "decide_reservations");
                    } else {
                        confirm = callers.submit(() -> confirmCommitted(confirmConnection, confirmer, "confirm-" + id, id));
                        lock.awaitWaiters(1, "decide_reservations");
                        sweep = callers.submit(() -> sweep(sweeper, 1_000, NEVER_AGAIN));
                        lock.awaitWaiters(1, "sweep_reservations");
                    }
                    lock.release();
                    answer = confirm.get(30, TimeUnit.SECONDS);
                    swept = sweep.get(30, TimeUnit.SECONDS);
                }

                String status = statusOf(id);
                String as = race + " round " + round + ", hold " + id;
                assertThat(status).as(as).isIn("confirmed", "expired");
                boolean wasConfirmed = status.equals("confirmed");
                assertThat(wasConfirmed).as(as).isEqualTo(race == Race.CONFIRM_FIRST);
                confirmed.merge(race, wasConfirmed ? 1 : 0, Integer::sum);
                assertThat(endingsOf(id)).as(as).containsExactly(wasConfirmed ? "hold_confirmed" : "hold_expired");
                assertThat(ordersOf(item)).as(as).isEqualTo(wasConfirmed ? 1 : 0);
                assertThat(stockOf(item)).as(as).isEqualTo(wasConfirmed ? 0 : 1);
                assertThat(heldOf(item)).as(as).isZero();
                assertThat(Collections.frequency(swept, id)).as(as + ": returned by the sweep to announce")
                        .isEqualTo(wasConfirmed ? 0 : 1);
                if (wasConfirmed) {
                    assertThat(answer.outcome()).as(as).isEqualTo("ORDER_CREATED");
                    assertThat(answer.orderId()).as(as).isEqualTo(orderOf(id));
                    assertThat(answer.lineStocks()).as(as).containsExactly(0);
                } else {
                    assertThat(answer.outcome() + " " + answer.errorCode()).as(as).isEqualTo("REJECTED reservation_expired");
                    assertThat(orderOf(id)).as(as).isNull();
                }
                if (round % 50 == 49) {
                    assertThat(auditViolations()).isEmpty();
                }
            }
        } finally {
            callers.shutdownNow();
            confirmConnection.destroy();
            sweepConnection.destroy();
        }
        System.out.println("HoldFunctionIT race: confirmed per race " + confirmed);
        assertThat(confirmed.get(Race.CONFIRM_FIRST)).as("confirmed, of 67").isEqualTo(67);
        assertThat(confirmed.get(Race.SWEEP_FIRST) + confirmed.get(Race.CONFIRM_BEGUN_LATE)).as("expired ones confirmed").isZero();
    }

    @Test
    void aBuyerAfterExpiresAtButBeforeAnySweep_getsTheStock_andTheExpiryIsAnnouncedOnce() {
        UUID item = newItem(1);
        PurchaseAnswer hold = decidePurchase(jdbc, Purchase.single("last-unit-" + item, UUID.randomUUID(), item, 1)
                .held(Duration.ofMillis(300)));
        assertThat(hold.outcome()).isEqualTo("STOCK_RESERVED");
        assertThat(hold.stock()).isZero();
        UUID id = hold.reservationId();
        assertThat(decidePurchase(jdbc, Purchase.single("too-early-" + item, UUID.randomUUID(), item, 1)).outcome())
                .as("while held").isEqualTo("OUT_OF_STOCK");
        awaitDue(id);

        PurchaseAnswer bought = decidePurchase(jdbc, Purchase.single("after-" + item, UUID.randomUUID(), item, 1));

        assertThat(bought.outcome()).isEqualTo("ORDER_CREATED");
        assertThat(bought.stock()).isZero();
        assertThat(statusOf(id)).isEqualTo("expired");
        assertThat(endingsOf(id)).containsExactly("hold_expired");
        assertThat(jdbc.sql("select end_stocks[1] from reservations where id = :id").param("id", id)
                .query(Integer.class).single()).as("stock after the expiry").isOne();
        assertThat(stockOf(item)).isZero();
        assertThat(heldOf(item)).isZero();

        assertThat(sweep(jdbc, 1_000, NEVER_AGAIN)).as("the first sweep after").containsOnlyOnce(id);
        assertThat(sweep(jdbc, 1_000, NEVER_AGAIN)).as("a sweep before resend-after").doesNotContain(id);
        await().atMost(Duration.ofSeconds(5)).until(() -> sweep(jdbc, 1_000, Duration.ofMillis(200)).contains(id));
        ReservationAnswer announced = decideReservation(jdbc, Reservation.expire(id, "reservation-requests-0@7"));
        assertThat(announced.outcome()).isEqualTo("RESERVATION_EXPIRED");
        assertThat(announced.lineStocks()).containsExactly(1);
        assertThat(sweep(jdbc, 1_000, Duration.ofMillis(1))).as("once announced").doesNotContain(id);

        ReservationAnswer late = decideReservation(jdbc, Reservation.confirm("late-" + id, id));
        assertThat(late.outcome() + " " + late.errorCode()).isEqualTo("REJECTED reservation_expired");
        assertThat(ordersOf(item)).isOne();
    }

    @Test
    void aConfirmationDeliveredFiveTimes_isOneOrder_answeredIdentically() {
        UUID item = newItem(5);
        UUID id = place(item, 2, MINUTE).reservationId();
        UUID other = place(item, 1, MINUTE).reservationId();

        List<ReservationAnswer> calls = IntStream.range(0, 5)
                .mapToObj(i -> decideReservation(jdbc, Reservation.confirm("confirm-" + id, id))).toList();
        ReservationAnswer first = calls.get(0);
        assertThat(first.outcome()).isEqualTo("ORDER_CREATED");
        assertThat(first.replayed()).isFalse();
        assertThat(first.itemId()).isEqualTo(item);
        assertThat(first.holdKey()).isEqualTo(holdKeyOf(id));
        assertThat(first.lineItems()).containsExactly(item);
        assertThat(first.lineQuantities()).containsExactly(2);
        assertThat(first.lineStocks()).containsExactly(2);
        assertThat(calls.subList(1, 5)).allSatisfy(replay -> {
            assertThat(replay.replayed()).isTrue();
            assertThat(replay.asDecided()).isEqualTo(first.asDecided());
        });

        List<ReservationAnswer> batch = decideReservations(jdbc, Collections.nCopies(5, Reservation.confirm("confirm-" + other, other)));
        assertThat(batch).map(ReservationAnswer::ordinal).containsExactly(1, 2, 3, 4, 5);
        assertThat(batch.get(0).outcome()).isEqualTo("ORDER_CREATED");
        assertThat(batch.get(0).replayed()).isFalse();
        assertThat(batch.subList(1, 5)).allSatisfy(replay -> {
            assertThat(replay.replayed()).isTrue();
            assertThat(replay.asDecided()).isEqualTo(batch.get(0).asDecided());
        });
        assertThat(decideReservation(jdbc, Reservation.confirm("confirm-" + other, other)).asDecided())
                .as("delivered again later").isEqualTo(batch.get(0).asDecided());

        assertThat(ordersOf(item)).isEqualTo(2);
        assertThat(jdbc.sql("select count(*) from reservation_decisions where idempotency_key in (:keys)")
                .param("keys", List.of("confirm-" + id, "confirm-" + other)).query(Integer.class).single()).isEqualTo(2);
        assertThat(endingsOf(id)).containsExactly("hold_confirmed");
        assertThat(endingsOf(other)).containsExactly("hold_confirmed");
        assertThat(stockOf(item)).isEqualTo(2);
        assertThat(heldOf(item)).isZero();
        assertThat(orderOf(id)).isEqualTo(first.orderId());
        assertThat(decideRefund(jdbc, new Refund("refund-" + id, first.orderId(), null, null, "customer_return")).outcome())
                .as("a confirmed hold is an order like any other: refundable").isEqualTo("ORDER_REFUNDED");
        assertThat(stockOf(item)).isEqualTo(4);
        assertThat(orderStatus(first.orderId())).isEqualTo("refunded");
    }

    @Test
    void aReleaseAndAnExtensionDeliveredFiveTimes_actOnce_answeredIdentically() {
        UUID item = newItem(5);
        UUID released = place(item, 2, MINUTE).reservationId();
        UUID extended = place(item, 1, MINUTE).reservationId();
        UUID extendedInBatch = place(item, 1, MINUTE).reservationId();

        List<ReservationAnswer> releases = IntStream.range(0, 5)
                .mapToObj(i -> decideReservation(jdbc, Reservation.release("release-" + released, released))).toList();
        assertThat(releases.get(0).outcome()).isEqualTo("RESERVATION_RELEASED");
        assertThat(releases.get(0).lineStocks()).as("the stock after the units came back").containsExactly(3);
        assertIdenticalReplays(releases);
        List<ReservationAnswer> releasesInBatch = decideReservations(jdbc,
                Collections.nCopies(5, Reservation.release("release-" + released, released)));
        assertThat(releasesInBatch).allSatisfy(r -> assertThat(r.asDecided()).isEqualTo(releases.get(0).asDecided()));
        assertThat(endingsOf(released)).containsExactly("hold_released");
        assertThat(stockOf(item)).isEqualTo(3);

        List<ReservationAnswer> extensions = IntStream.range(0, 5)
                .mapToObj(i -> decideReservation(jdbc, Reservation.extend("extend-" + extended, extended, Duration.ofMinutes(5))))
                .toList();
        assertThat(extensions.get(0).outcome()).isEqualTo("RESERVATION_EXTENDED");
        assertThat(extensions.get(0).expiresAt()).isEqualTo(expiresAtOf(extended));
        assertIdenticalReplays(extensions);
        List<ReservationAnswer> extensionsInBatch = decideReservations(jdbc,
                Collections.nCopies(5, Reservation.extend("extend-" + extendedInBatch, extendedInBatch, Duration.ofMinutes(5))));
        assertThat(extensionsInBatch.get(0).outcome()).isEqualTo("RESERVATION_EXTENDED");
        assertIdenticalReplays(extensionsInBatch);
        assertThat(expiresAtOf(extendedInBatch)).isEqualTo(extensionsInBatch.get(0).expiresAt());
        assertThat(jdbc.sql("select count(*) from reservation_decisions where reservation_id in (:ids)")
                .param("ids", List.of(released, extended, extendedInBatch)).query(Integer.class).single()).isEqualTo(3);
        assertThat(statusOf(extended)).isEqualTo("held");
        assertThat(heldOf(item)).isEqualTo(2);
    }

    @Test
    void eachWayAHoldCannotEnd_isRejectedWithItsCode_andChangesNothing() {
        UUID item = newItem(10);
        UUID unknown = UUID.randomUUID();
        for (Reservation request : List.of(Reservation.confirm("nf-c-" + unknown, unknown),
                Reservation.release("nf-r-" + unknown, unknown), Reservation.extend("nf-e-" + unknown, unknown, MINUTE))) {
            ReservationAnswer answer = decideReservation(jdbc, request);
            assertThat(answer.outcome() + " " + answer.errorCode()).isEqualTo("REJECTED reservation_not_found");
            assertThat(answer.userId()).isNull();
            assertThat(answer.lineItems()).isNull();
        }

        UUID expired = place(item, 1, SHORT).reservationId();
        awaitDue(expired);
        UUID confirmed = place(item, 1, MINUTE).reservationId();
        assertThat(decideReservation(jdbc, Reservation.confirm("c-" + confirmed, confirmed)).outcome()).isEqualTo("ORDER_CREATED");
        UUID released = place(item, 1, MINUTE).reservationId();
        assertThat(decideReservation(jdbc, Reservation.release("r-" + released, released)).outcome()).isEqualTo("RESERVATION_RELEASED");
        int decisionsBefore = reservationDecisions(List.of(expired, confirmed, released));
        for (var ended : Map.of(expired, "reservation_expired", confirmed, "reservation_confirmed",
                released, "reservation_released").entrySet()) {
            UUID id = ended.getKey();
            for (Reservation request : List.of(Reservation.confirm("again-c-" + id, id),
                    Reservation.release("again-r-" + id, id), Reservation.extend("again-e-" + id, id, MINUTE))) {
                ReservationAnswer answer = decideReservation(jdbc, request);
                assertThat(answer.outcome() + " " + answer.errorCode()).as(request.toString())
                        .isEqualTo("REJECTED " + ended.getValue());
                assertThat(answer.holdKey()).isEqualTo(holdKeyOf(id));
                ReservationAnswer replay = decideReservation(jdbc, request);
                assertThat(replay.replayed()).isTrue();
                assertThat(replay.asDecided()).isEqualTo(answer.asDecided());
            }
        }
        assertThat(reservationDecisions(List.of(expired, confirmed, released))).isEqualTo(decisionsBefore + 9);
        assertThat(endingsOf(expired)).containsExactly("hold_expired");
        assertThat(endingsOf(confirmed)).containsExactly("hold_confirmed");
        assertThat(endingsOf(released)).containsExactly("hold_released");
        assertThat(ordersOf(item)).isOne();
        assertThat(stockOf(item)).isEqualTo(9);
        assertThat(heldOf(item)).isZero();
    }

    @Test
    void aHoldOfZeroNegativeOrAboveTheMaximum_isInvalid_placingAndExtending() {
        UUID item = newItem(10);
        UUID user = UUID.randomUUID();
        List<Duration> invalid = List.of(Duration.ZERO, Duration.ofSeconds(-1), MAX_HOLD.plusNanos(1_000));
        for (Duration holdFor : invalid) {
            PurchaseAnswer single = decidePurchase(jdbc, Purchase.single("invalid-" + holdFor + item, user, item, 1).held(holdFor));
            assertThat(single.outcome() + " " + single.errorCode()).as(holdFor.toString()).isEqualTo("REJECTED invalid_hold");
            assertThat(single.reservationId()).isNull();
            PurchaseAnswer cart = decidePurchase(jdbc, Purchase.cart("invalid-cart-" + holdFor + item, user, new Line(item, 1))
                    .held(holdFor));
            assertThat(cart.outcome() + " " + cart.errorCode()).as(holdFor.toString()).isEqualTo("REJECTED invalid_hold");
        }
        assertThat(stockOf(item)).isEqualTo(10);
        assertThat(jdbc.sql("select count(*) from reservations r join purchase_decisions d using (idempotency_key) "
                + "where d.user_id = :user").param("user", user).query(Integer.class).single()).isZero();

        PurchaseAnswer longest = place(item, 1, MAX_HOLD);
        assertThat(longest.outcome()).as("exactly the maximum").isEqualTo("STOCK_RESERVED");
        UUID id = longest.reservationId();
        var expiresAt = expiresAtOf(id);
        for (Duration holdFor : invalid) {
            ReservationAnswer answer = decideReservation(jdbc, Reservation.extend("extend-invalid-" + holdFor + id, id, holdFor));
            assertThat(answer.outcome() + " " + answer.errorCode()).as(holdFor.toString()).isEqualTo("REJECTED invalid_hold");
        }
        ReservationAnswer none = decideReservation(jdbc, Reservation.extend("extend-null-" + id, id, null));
        assertThat(none.errorCode()).isEqualTo("invalid_hold");
        assertThat(expiresAtOf(id)).isEqualTo(expiresAt);
        ReservationAnswer shorter = decideReservation(jdbc, Reservation.extend("extend-shorter-" + id, id, Duration.ofSeconds(1)));
        assertThat(shorter.outcome()).isEqualTo("RESERVATION_EXTENDED");
        assertThat(shorter.expiresAt()).as("an extension never shortens a hold").isEqualTo(expiresAt);
    }

    @Test
    void holdDurationsNotOnePerRequest_areRefused_notTakenAsPurchases() {
        UUID item = newItem(5);
        assertThatThrownBy(() -> jdbc.sql("""
                        select * from decide_purchases(:keys, :users, array[false, false], array[1, 2], :items, array[1, 1],
                                                       array['5 minutes']::interval[], '15 minutes')""")
                .param("keys", new String[] {"short-a-" + item, "short-b-" + item})
                .param("users", new UUID[] {UUID.randomUUID(), UUID.randomUUID()})
                .param("items", new UUID[] {item, item}).query().listOfRows())
                .as("two requests, one duration: the second would be bought, not held").hasMessageContaining("one length");
        assertThat(stockOf(item)).isEqualTo(5);
    }

    @Test
    void anExtensionBeyondTheLifetime_isHoldLimitExceeded() {
        UUID item = newItem(3);
        UUID id = place(item, 1, MINUTE).reservationId();
        var placedAt = jdbc.sql("select placed_at from reservations where id = :id").param("id", id)
                .query(java.sql.Timestamp.class).single().toInstant();

        ReservationAnswer within = decideReservations(jdbc, List.of(Reservation.extend("within-" + id, id, Duration.ofMinutes(4))),
                MAX_HOLD, Duration.ofMinutes(5)).get(0);
        assertThat(within.outcome()).isEqualTo("RESERVATION_EXTENDED");
        assertThat(within.expiresAt()).isBefore(placedAt.plus(Duration.ofMinutes(5)));
        ReservationAnswer beyond = decideReservations(jdbc, List.of(Reservation.extend("beyond-" + id, id, Duration.ofMinutes(10))),
                MAX_HOLD, Duration.ofMinutes(5)).get(0);
        assertThat(beyond.outcome() + " " + beyond.errorCode()).isEqualTo("REJECTED hold_limit_exceeded");
        assertThat(expiresAtOf(id)).isEqualTo(within.expiresAt());
        assertThat(statusOf(id)).isEqualTo("held");
    }

    @Test
    void aKeyReusedForAnotherHoldKindOrDuration_isRejected_andChangesNothing() {
        UUID item = newItem(10);
        UUID user = UUID.randomUUID();
        UUID first = place(item, 1, MINUTE).reservationId();
        UUID second = place(item, 1, MINUTE).reservationId();
        String key = "reused-" + first;
        assertThat(decideReservation(jdbc, Reservation.extend(key, first, Duration.ofMinutes(2))).outcome())
                .isEqualTo("RESERVATION_EXTENDED");
        var expiresAt = expiresAtOf(first);

        for (Reservation reuse : List.of(Reservation.extend(key, second, Duration.ofMinutes(2)),
                Reservation.extend(key, first, Duration.ofMinutes(3)), Reservation.confirm(key, first),
                Reservation.release(key, first))) {
            ReservationAnswer answer = decideReservation(jdbc, reuse);
            assertThat(answer.outcome() + " " + answer.errorCode()).as(reuse.toString()).isEqualTo("REJECTED idempotency_key_reused");
        }
        // Within one batch: the first request with the key is decided, a later one for something else is not.
        List<ReservationAnswer> batch = decideReservations(jdbc, List.of(Reservation.confirm("batch-" + key, second),
                Reservation.release("batch-" + key, second), Reservation.confirm("batch-" + key, first)));
        assertThat(batch).map(a -> a.outcome() + " " + a.errorCode())
                .containsExactly("ORDER_CREATED null", "REJECTED idempotency_key_reused", "REJECTED idempotency_key_reused");
        assertThat(statusOf(first)).isEqualTo("held");
        assertThat(expiresAtOf(first)).isEqualTo(expiresAt);
        assertThat(statusOf(second)).isEqualTo("confirmed");
        assertThat(endingsOf(second)).containsExactly("hold_confirmed");

        Purchase placing = Purchase.single("placing-" + item, user, item, 1).held(MINUTE);
        assertThat(decidePurchase(jdbc, placing).outcome()).isEqualTo("STOCK_RESERVED");
        for (Purchase reuse : List.of(placing.held(Duration.ofMinutes(2)), placing.held(null))) {
            PurchaseAnswer answer = decidePurchase(jdbc, reuse);
            assertThat(answer.outcome() + " " + answer.errorCode()).as(String.valueOf(reuse.holdFor()))
                    .isEqualTo("REJECTED idempotency_key_reused");
        }
        assertThat(stockOf(item)).isEqualTo(7);
    }

    @Test
    void placingAHoldDeliveredAgain_isAnsweredAsDecided_evenAfterItWasExtendedAndConfirmed() {
        UUID item = newItem(4);
        Purchase placing = Purchase.single("placed-" + item, UUID.randomUUID(), item, 3).held(MINUTE);
        PurchaseAnswer placed = decidePurchase(jdbc, placing);
        assertThat(placed.outcome()).isEqualTo("STOCK_RESERVED");
        assertThat(placed.stock()).isOne();
        assertThat(placed.orderId()).isNull();
        assertThat(placed.expiresAt()).isEqualTo(expiresAtOf(placed.reservationId()));
        UUID id = placed.reservationId();

        assertThat(decideReservation(jdbc, Reservation.extend("ext-" + id, id, Duration.ofMinutes(10))).outcome())
                .isEqualTo("RESERVATION_EXTENDED");
        PurchaseAnswer afterExtension = decidePurchase(jdbc, placing);
        assertThat(afterExtension.replayed()).isTrue();
        assertThat(afterExtension.asDecided()).isEqualTo(placed.asDecided());
        assertThat(decideReservation(jdbc, Reservation.confirm("conf-" + id, id)).outcome()).isEqualTo("ORDER_CREATED");
        assertThat(decidePurchase(jdbc, placing).asDecided()).isEqualTo(placed.asDecided());
        assertThat(decidePurchases(jdbc, List.of(placing, placing))).allSatisfy(a -> assertThat(a.asDecided()).isEqualTo(placed.asDecided()));
        assertThat(stockOf(item)).isOne();
        assertThat(ordersOf(item)).isOne();
    }

    @Test
    void aCartHold_reservesEveryLineOrNone_andConfirmedIsAnOrderRefundableLineByLine() {
        UUID a = newItem(5);
        UUID b = newItem(2);
        UUID c = newItem(4);
        UUID user = UUID.randomUUID();

        PurchaseAnswer held = decidePurchase(jdbc, Purchase.cart("cart-hold-" + a, user, new Line(a, 2), new Line(b, 2), new Line(c, 1))
                .held(MINUTE));
        assertThat(held.outcome()).isEqualTo("STOCK_RESERVED");
        assertThat(held.orderId()).isNull();
        assertThat(held.lineItems()).containsExactly(a, b, c);
        assertThat(held.lineStocks()).containsExactly(3, 0, 3);
        assertThat(List.of(stockOf(a), stockOf(b), stockOf(c))).containsExactly(3, 0, 3);
        assertThat(List.of(heldOf(a), heldOf(b), heldOf(c))).containsExactly(2, 2, 1);
        UUID id = held.reservationId();

        PurchaseAnswer short_ = decidePurchase(jdbc, Purchase.cart("cart-short-" + a, user, new Line(a, 1), new Line(b, 1)).held(MINUTE));
        assertThat(short_.outcome()).isEqualTo("OUT_OF_STOCK");
        assertThat(short_.reservationId()).isNull();
        assertThat(short_.lineStocks()).containsExactly(3, 0);
        assertThat(List.of(stockOf(a), heldOf(a))).as("nothing taken").containsExactly(3, 2);

        ReservationAnswer confirmed = decideReservation(jdbc, Reservation.confirm("cart-confirm-" + id, id));
        assertThat(confirmed.outcome()).isEqualTo("ORDER_CREATED");
        assertThat(confirmed.itemId()).isNull();
        assertThat(confirmed.userId()).isEqualTo(user);
        assertThat(confirmed.lineItems()).containsExactly(a, b, c);
        assertThat(confirmed.lineQuantities()).containsExactly(2, 2, 1);
        assertThat(confirmed.lineStocks()).containsExactly(3, 0, 3);
        UUID order = confirmed.orderId();
        assertThat(jdbc.sql("select item_id || ' ' || quantity || ' ' || refunded_quantity from order_lines where order_id = :o order by line_no")
                .param("o", order).query(String.class).list()).containsExactly(a + " 2 0", b + " 2 0", c + " 1 0");
        assertThat(List.of(heldOf(a), heldOf(b), heldOf(c))).containsExactly(0, 0, 0);
        assertThat(List.of(stockOf(a), stockOf(b), stockOf(c))).as("sold from held, stock unchanged").containsExactly(3, 0, 3);

        assertThat(decideRefund(jdbc, new Refund("cart-refund-b-" + id, order, b, 1, "customer_return")).lineStocks()).containsExactly(1);
        assertThat(orderStatus(order)).isEqualTo("partially_refunded");
        assertThat(decideRefund(jdbc, new Refund("cart-refund-a-" + id, order, a, null, "customer_return")).lineStocks()).containsExactly(5);
        assertThat(decideRefund(jdbc, new Refund("cart-refund-rest-" + id, order, null, null, "customer_return")).outcome())
                .isEqualTo("ORDER_REFUNDED");
        assertThat(orderStatus(order)).isEqualTo("refunded");
        assertThat(List.of(stockOf(a), stockOf(b), stockOf(c))).containsExactly(5, 2, 4);
        assertThat(auditViolations()).isEmpty();
    }

    @Test
    void anExpiryIsAnnouncedByTheFirstRecordDecided_againForThatRecord_andNeverForAnother() {
        UUID item = newItem(3);
        UUID live = place(item, 1, MINUTE).reservationId();
        UUID id = place(item, 1, SHORT).reservationId();
        awaitDue(id);

        ReservationAnswer first = decideReservation(jdbc, Reservation.expire(id, "reservation-requests-1@10"));
        assertThat(first.outcome()).isEqualTo("RESERVATION_EXPIRED");
        assertThat(first.replayed()).isFalse();
        assertThat(first.holdKey()).isEqualTo(holdKeyOf(id));
        assertThat(first.itemId()).isEqualTo(item);
        assertThat(first.expiresAt()).isEqualTo(expiresAtOf(id));
        assertThat(first.lineStocks()).as("stock after the expiry").containsExactly(2);
        ReservationAnswer again = decideReservation(jdbc, Reservation.expire(id, "reservation-requests-1@10"));
        assertThat(again.replayed()).isTrue();
        assertThat(again.asDecided()).isEqualTo(first.asDecided());
        assertThat(decideReservation(jdbc, Reservation.expire(id, "reservation-requests-0@11")).outcome()).isEqualTo("NONE");
        assertThat(decideReservation(jdbc, Reservation.expire(live, "reservation-requests-1@12")).outcome())
                .as("a live hold").isEqualTo("NONE");
        assertThat(decideReservation(jdbc, Reservation.expire(UUID.randomUUID(), "reservation-requests-1@13")).outcome())
                .as("an unknown hold").isEqualTo("NONE");

        UUID twice = place(item, 1, SHORT).reservationId();
        awaitDue(twice);
        List<ReservationAnswer> batch = decideReservations(jdbc, List.of(Reservation.expire(twice, "reservation-requests-2@1"),
                Reservation.expire(twice, "reservation-requests-2@2"), Reservation.expire(twice, "reservation-requests-2@1")));
        assertThat(batch).map(ReservationAnswer::outcome).containsExactly("RESERVATION_EXPIRED", "NONE", "RESERVATION_EXPIRED");
        assertThat(batch.get(2).asDecided()).isEqualTo(batch.get(0).asDecided());
        assertThat(jdbc.sql("select announced_by from reservations where id in (:ids) order by announced_by")
                .param("ids", List.of(id, twice)).query(String.class).list())
                .containsExactly("reservation-requests-1@10", "reservation-requests-2@1");
        assertThat(endingsOf(id)).containsExactly("hold_expired");
        assertThat(endingsOf(twice)).containsExactly("hold_expired");
        assertThat(sweep(jdbc, 1_000, Duration.ofMillis(1))).as("announced: never sent again").doesNotContain(id, twice);
        assertThat(decideReservation(jdbc, Reservation.confirm("live-" + live, live)).outcome()).isEqualTo("ORDER_CREATED");
        assertThat(decideReservation(jdbc, Reservation.expire(live, "reservation-requests-1@14")).outcome())
                .as("a confirmed hold").isEqualTo("NONE");
    }

    @Test
    void twoSweepsOverTheSameDueHoldsAtOnce_returnEachHoldOnceBetweenThem_andExpireEachOnce() throws Exception {
        for (int round = 0; round < 3; round++) {
            UUID item = newItem(5);
            List<UUID> holds = IntStream.range(0, 5).mapToObj(i -> place(item, 1, SHORT).reservationId()).toList();
            holds.forEach(this::awaitDue);
            List<List<UUID>> swept;
            var caller = Executors.newSingleThreadExecutor();
            try (HeldRowLock lock = HeldRowLock.onItem(item)) {
                Future<List<List<UUID>>> sweeps = caller.submit(() -> Concurrently.onOwnConnections(2, 1,
                        (db, thread, i) -> sweep(db, 1_000, NEVER_AGAIN)));
                lock.awaitWaiters(2, "sweep_reservations");
                lock.release();
                swept = sweeps.get(30, TimeUnit.SECONDS);
            } finally {
                caller.shutdown();
            }
            List<UUID> ours = new ArrayList<>();
            swept.forEach(one -> one.stream().filter(holds::contains).forEach(ours::add));
            assertThat(ours).as("round %d: each hold returned once between the two sweeps", round)
                    .containsExactlyInAnyOrderElementsOf(holds);
            for (UUID id : holds) {
                assertThat(statusOf(id)).isEqualTo("expired");
                assertThat(endingsOf(id)).containsExactly("hold_expired");
            }
            assertThat(stockOf(item)).isEqualTo(5);
            assertThat(heldOf(item)).isZero();
        }
    }

    /**
     * Purchase batches lock items, then holds; a confirmation that locked its hold before its items could
     * deadlock with them. Forced: the item is locked while the confirmation runs, and its hold must stay free.
     */
    @Test
    void aConfirmation_waitsForItsItemsBeforeLockingItsHold() throws Exception {
        UUID item = newItem(1);
        UUID id = place(item, 1, MINUTE).reservationId();
        ExecutorService caller = Executors.newSingleThreadExecutor();
        SingleConnectionDataSource confirmConnection = Concurrently.connection();
        SingleConnectionDataSource probe = Concurrently.connection();
        try (HeldRowLock lock = HeldRowLock.onItem(item)) {
            Future<ReservationAnswer> confirm = caller.submit(() ->
                    decideReservation(JdbcClient.create(confirmConnection), Reservation.confirm("confirm-" + id, id)));
            lock.awaitWaiters(1, "decide_reservations");
            probe.getConnection().setAutoCommit(false);
            assertThat(JdbcClient.create(probe).sql("select id from reservations where id = :id for update nowait")
                    .param("id", id).query(UUID.class).single())
                    .as("the hold, free while its confirmation waits for the item").isEqualTo(id);
            probe.getConnection().rollback();
            lock.release();
            assertThat(confirm.get(30, TimeUnit.SECONDS).outcome()).isEqualTo("ORDER_CREATED");
        } finally {
            caller.shutdownNow();
            confirmConnection.destroy();
            probe.destroy();
        }
    }

    @Test
    void aSweep_skipsAHoldAnotherTransactionHasLocked_insteadOfWaitingForIt() throws Exception {
        UUID item = newItem(1);
        UUID id = place(item, 1, SHORT).reservationId();
        awaitDue(id);
        assertThat(decidePurchase(jdbc, Purchase.single("lazily-" + item, UUID.randomUUID(), item, 1)).outcome())
                .as("expired by the buyer, not yet sent").isEqualTo("ORDER_CREATED");
        SingleConnectionDataSource holder = Concurrently.connection();
        SingleConnectionDataSource sweeper = Concurrently.connection();
        try {
            holder.getConnection().setAutoCommit(false);
            JdbcClient.create(holder).sql("select id from reservations where id = :id for update").param("id", id).query().singleValue();
            JdbcClient db = JdbcClient.create(sweeper);
            db.sql("set statement_timeout = '3s'").update();
            assertThat(sweep(db, 1_000, NEVER_AGAIN)).as("while another transaction has it").doesNotContain(id);
            holder.getConnection().commit();
            assertThat(sweep(db, 1_000, NEVER_AGAIN)).containsOnlyOnce(id);
        } finally {
            holder.destroy();
            sweeper.destroy();
        }
    }

    /** Confirms on the connection's open transaction, then commits it (rolls it back on failure). */
    private static ReservationAnswer confirmCommitted(SingleConnectionDataSource connection, JdbcClient db, String key, UUID id)
            throws Exception {
        try {
            ReservationAnswer answer = decideReservation(db, Reservation.confirm(key, id));
            connection.getConnection().commit();
            return answer;
        } catch (RuntimeException e) {
            connection.getConnection().rollback();
            throw e;
        }
    }

    private static void assertIdenticalReplays(List<ReservationAnswer> answers) {
        assertThat(answers.get(0).replayed()).isFalse();
        assertThat(answers.subList(1, answers.size())).allSatisfy(replay -> {
            assertThat(replay.replayed()).isTrue();
            assertThat(replay.asDecided()).isEqualTo(answers.get(0).asDecided());
        });
    }

    private PurchaseAnswer place(UUID item, int quantity, Duration holdFor) {
        PurchaseAnswer answer = decidePurchase(jdbc, Purchase.single("hold-" + UUID.randomUUID(), UUID.randomUUID(), item, quantity)
                .held(holdFor));
        assertThat(answer.outcome()).isEqualTo("STOCK_RESERVED");
        return answer;
    }

    /** Until the hold's expires_at has passed on the database's clock. */
    private void awaitDue(UUID id) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> jdbc.sql(
                "select now() > expires_at from reservations where id = :id").param("id", id).query(Boolean.class).single());
    }

    private String statusOf(UUID id) {
        return jdbc.sql("select status from reservations where id = :id").param("id", id).query(String.class).single();
    }

    private java.time.Instant expiresAtOf(UUID id) {
        return jdbc.sql("select expires_at from reservations where id = :id").param("id", id)
                .query(java.sql.Timestamp.class).single().toInstant();
    }

    private String holdKeyOf(UUID id) {
        return jdbc.sql("select idempotency_key from reservations where id = :id").param("id", id).query(String.class).single();
    }

    private UUID orderOf(UUID id) {
        return jdbc.sql("select order_id from reservations where id = :id").param("id", id)
                .query((rs, n) -> rs.getObject(1, UUID.class)).list().get(0);
    }

    /** The ledger rows that ended the hold, in order: exactly one once it ended. */
    private List<String> endingsOf(UUID id) {
        return jdbc.sql("select reason from stock_ledger where :id = any (reservation_ids) and reason <> 'holds' order by id")
                .param("id", id).query(String.class).list();
    }

    private int heldOf(UUID item) {
        return jdbc.sql("select held from items where id = :id").param("id", item).query(Integer.class).single();
    }

    private String orderStatus(UUID order) {
        return jdbc.sql("select status from orders where id = :id").param("id", order).query(String.class).single();
    }

    private int reservationDecisions(List<UUID> ids) {
        return jdbc.sql("select count(*) from reservation_decisions where reservation_id in (:ids)").param("ids", ids)
                .query(Integer.class).single();
    }
}
