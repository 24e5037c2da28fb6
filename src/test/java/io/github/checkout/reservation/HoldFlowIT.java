package io.github.checkout.reservation;

import static io.github.checkout.support.OutcomeCollector.ORDER_CREATED;
import static io.github.checkout.support.OutcomeCollector.PURCHASE_REJECTED;
import static io.github.checkout.support.OutcomeCollector.RESERVATION_EXPIRED;
import static io.github.checkout.support.OutcomeCollector.RESERVATION_EXTENDED;
import static io.github.checkout.support.OutcomeCollector.RESERVATION_REJECTED;
import static io.github.checkout.support.OutcomeCollector.RESERVATION_RELEASED;
import static io.github.checkout.support.OutcomeCollector.STOCK_RESERVED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.reservation.ReservationRequested.Type;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

/**
 * Holds end to end: placed with a purchase request's holdFor, then confirmed, released, extended or expired by the
 * service's own sweep, through Kafka, every outcome read back by a read_committed consumer and checked against
 * its schema. A hold may live as long as its longest holdFor, so that an extension can pass its limit.
 */
@TestPropertySource(properties = {"checkout.holds.max-lifetime=PT15M", "checkout.holds.sweep-interval=PT1S"})
@DirtiesContext
class HoldFlowIT extends IntegrationTestSupport {

    private static final String RESERVATIONS = "reservation-requests";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @AfterEach
    void everyOutcomeValidatesAgainstItsSchema() {
        assertThat(outcomes().schemaViolations()).isEmpty();
    }

    @Test
    void singleItemHold_isStockReserved_andItsConfirmation_isOneOrderWithTheReservationId() {
        UUID item = newItem(5);
        UUID user = UUID.randomUUID();
        String key = "hold-" + UUID.randomUUID();

        send(item.toString(), holdJson(key, user, "\"itemId\":\"" + item + "\",\"quantity\":2", "PT5M"));

        Outcome reserved = only(key);
        assertThat(reserved.topic()).isEqualTo(STOCK_RESERVED);
        assertThat(reserved.record().key()).isEqualTo(item.toString());
        assertThat(reserved.value().get("remainingStock").asInt()).isEqualTo(3);
        assertThat(Instant.parse(reserved.text("expiresAt"))).isAfter(Instant.parse(reserved.text("occurredAt")).plusSeconds(299));
        assertThat(stockOf(item)).isEqualTo(3);
        UUID hold = UUID.fromString(reserved.text("reservationId"));

        String confirm = "confirm-" + key;
        reservation(Type.CONFIRM, confirm, hold, null);
        reservation(Type.CONFIRM, confirm, hold, null);

        await().atMost(WAIT).untilAsserted(() -> assertThat(outcomes().forRequest(confirm)).hasSize(2));
        List<Outcome> answers = outcomes().forRequest(confirm);
        assertThat(answers).map(o -> o.record().value()).as("a redelivery is answered identically")
                .containsOnly(answers.get(0).record().value());
        Outcome order = answers.get(0);
        assertThat(order.topic()).isEqualTo(ORDER_CREATED);
        assertThat(order.record().key()).isEqualTo(item.toString());
        assertThat(order.text("reservationId")).isEqualTo(hold.toString());
        assertThat(order.text("itemId")).isEqualTo(item.toString());
        assertThat(order.value().get("quantity").asInt()).isEqualTo(2);
        assertThat(order.value().get("remainingStock").asInt()).isEqualTo(3);
        assertThat(order.text("eventId")).isEqualTo(ReservationService.eventId(request(Type.CONFIRM, confirm, hold)).toString());
        assertThat(stockOf(item)).isEqualTo(3);
        assertThat(ordersWith(item)).containsExactly(UUID.fromString(order.text("orderId")));

        String release = "release-" + key;
        reservation(Type.RELEASE, release, hold, null);
        assertRejected(release, hold, "reservation_confirmed");
        assertThat(stockOf(item)).isEqualTo(3);
    }

    @Test
    void cartHold_released_putsEveryLineBack_andCannotBeConfirmedAfter() {
        UUID a = newItem(4);
        UUID b = newItem(1);
        UUID user = UUID.randomUUID();
        String key = "cart-hold-" + UUID.randomUUID();

        send(user.toString(), holdJson(key, user, "\"lines\":[" + line(a, 2) + "," + line(b, 1) + "]", "PT5M"));

        Outcome reserved = only(key);
        assertThat(reserved.topic()).isEqualTo(STOCK_RESERVED);
        assertThat(reserved.record().key()).isEqualTo(user.toString());
        assertThat(lines(reserved.value())).containsExactly(a + " 2 2", b + " 1 0");
        assertThat(List.of(stockOf(a), stockOf(b))).containsExactly(2, 0);
        UUID hold = UUID.fromString(reserved.text("reservationId"));

        String release = "release-" + key;
        reservation(Type.RELEASE, release, hold, null);
        Outcome released = only(release);
        assertThat(released.topic()).isEqualTo(RESERVATION_RELEASED);
        assertThat(released.record().key()).isEqualTo(hold.toString());
        assertThat(released.text("userId")).isEqualTo(user.toString());
        assertThat(lines(released.value())).containsExactly(a + " 2 4", b + " 1 1");
        assertThat(List.of(stockOf(a), stockOf(b))).containsExactly(4, 1);

        String confirm = "confirm-" + key;
        reservation(Type.CONFIRM, confirm, hold, null);
        assertRejected(confirm, hold, "reservation_released");
        assertThat(ordersWith(a)).isEmpty();
    }

    @Test
    void extension_movesTheEnd_withinTheLimits() {
        UUID item = newItem(3);
        String key = "extend-hold-" + UUID.randomUUID();
        send(item.toString(), holdJson(key, UUID.randomUUID(), "\"itemId\":\"" + item + "\"", "PT1M"));
        Outcome reserved = only(key);
        UUID hold = UUID.fromString(reserved.text("reservationId"));

        String extend = "extend-" + key;
        reservation(Type.EXTEND, extend, hold, "PT10M");
        Outcome extended = only(extend);
        assertThat(extended.topic()).isEqualTo(RESERVATION_EXTENDED);
        assertThat(extended.record().key()).isEqualTo(hold.toString());
        assertThat(Instant.parse(extended.text("expiresAt"))).isAfter(Instant.parse(reserved.text("expiresAt")).plusSeconds(500));

        reservation(Type.EXTEND, "too-long-" + key, hold, "PT16M");
        assertRejected("too-long-" + key, hold, "invalid_hold");
        reservation(Type.EXTEND, "past-lifetime-" + key, hold, "PT15M");
        assertRejected("past-lifetime-" + key, hold, "hold_limit_exceeded");
        reservation(Type.CONFIRM, "unknown-" + key, UUID.randomUUID(), null);
        assertThat(only("unknown-" + key).text("errorCode")).isEqualTo("reservation_not_found");

        String tooLong = "too-long-hold-" + UUID.randomUUID();
        send(item.toString(), holdJson(tooLong, UUID.randomUUID(), "\"itemId\":\"" + item + "\"", "PT16M"));
        assertThat(only(tooLong).topic()).isEqualTo(PURCHASE_REJECTED);
        assertThat(only(tooLong).text("errorCode")).isEqualTo("invalid_hold");
        assertThat(stockOf(item)).isEqualTo(2);
    }

    @Test
    void holdOfOneSecond_isExpiredByTheSweep_announcedExactlyOnce_andCannotBeConfirmedAfter() {
        UUID item = newItem(2);
        UUID user = UUID.randomUUID();
        String key = "short-hold-" + UUID.randomUUID();
        send(item.toString(), holdJson(key, user, "\"itemId\":\"" + item + "\",\"quantity\":2", "PT1S"));
        UUID hold = UUID.fromString(only(key).text("reservationId"));
        assertThat(stockOf(item)).isZero();

        await().atMost(WAIT).untilAsserted(() -> assertThat(expiries(key)).hasSize(1));
        Outcome expired = expiries(key).get(0);
        assertThat(expired.record().key()).isEqualTo(hold.toString());
        assertThat(expired.text("eventId")).isEqualTo(ReservationService.expiredEventId(hold).toString());
        assertThat(expired.text("userId")).isEqualTo(user.toString());
        assertThat(lines(expired.value())).containsExactly(item + " 2 2");
        assertThat(Instant.parse(expired.text("occurredAt"))).isAfterOrEqualTo(Instant.parse(expired.text("expiresAt")));
        assertThat(stockOf(item)).isEqualTo(2);
        // Several sweep intervals (checkout.holds.sweep-interval, 1 s) later, still the one expiry.
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> expiries(key).size() == 1);

        String confirm = "confirm-" + key;
        reservation(Type.CONFIRM, confirm, hold, null);
        assertRejected(confirm, hold, "reservation_expired");
        assertThat(expiries(key)).hasSize(1);
    }

    private static List<Outcome> expiries(String holdKey) {
        return outcomes().forRequest(holdKey).stream().filter(o -> o.topic().equals(RESERVATION_EXPIRED)).toList();
    }

    private static void assertRejected(String key, UUID hold, String code) {
        Outcome rejected = only(key);
        assertThat(rejected.topic()).isEqualTo(RESERVATION_REJECTED);
        assertThat(rejected.record().key()).isEqualTo(hold.toString());
        assertThat(rejected.text("errorCode")).isEqualTo(code);
        assertThat(rejected.text("message")).isEqualTo(ReservationErrorCode.messageFor(code));
    }

    /** Sends a reservation request keyed by its hold, as producers should. */
    private static void reservation(Type type, String key, UUID hold, String holdFor) {
        String json = "{\"type\":\"%s\",\"idempotencyKey\":\"%s\",\"reservationId\":\"%s\"%s}".formatted(type.wire(), key, hold,
                holdFor == null ? "" : ",\"holdFor\":\"" + holdFor + "\"");
        send(new ProducerRecord<>(RESERVATIONS, hold.toString(), json.getBytes(StandardCharsets.UTF_8)));
    }

    private static ReservationRequested request(Type type, String key, UUID hold) {
        return new ReservationRequested(type, new IdempotencyKey(key), hold, null, null);
    }

    private static String holdJson(String key, UUID user, String what, String holdFor) {
        return "{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",%s,\"holdFor\":\"%s\"}".formatted(key, user, what, holdFor);
    }

    private static String line(UUID item, int quantity) {
        return "{\"itemId\":\"%s\",\"quantity\":%d}".formatted(item, quantity);
    }
}
