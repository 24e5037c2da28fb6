package io.github.checkout.reservation;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.purchase.OrderCreated;
import io.github.checkout.request.Answer;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.reservation.ReservationOutcome.Kind;
import io.github.checkout.reservation.ReservationRequested.Type;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class ReservationServiceTest {

    private static final UUID HOLD = UUID.fromString("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b");
    private static final UUID USER = UUID.fromString("7d8f3c1e-2b4a-4f6e-9a1b-3c5d7e9f1a2b");
    private static final UUID ITEM = UUID.fromString("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9");
    private static final UUID OTHER = UUID.fromString("1c2d3e4f-5061-4728-93a4-b5c6d7e8f90a");
    private static final UUID ORDER = UUID.fromString("01a22fef-f181-7f09-8915-59db0ea1d1af");
    private static final Instant EXPIRES = Instant.parse("2026-11-30T12:05:00Z");
    private static final Instant DECIDED_AT = Instant.parse("2026-11-30T12:00:00Z");
    private static final List<ReservationLine> ONE_LINE = List.of(new ReservationLine(ITEM, 2, 8));
    private static final List<ReservationLine> TWO_LINES = List.of(new ReservationLine(ITEM, 2, 8), new ReservationLine(OTHER, 1, 0));

    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void aConfirmation_isTheHoldsOrder_singleItemOrCart_withTheReservationId() {
        var confirm = request(Type.CONFIRM, "c-1", null);

        OrderCreated single = ((ReservationConfirmed) ReservationService.toOutcome(confirm,
                decision(Kind.ORDER_CREATED, null, ITEM, ONE_LINE))).order();
        OrderCreated cart = ((ReservationConfirmed) ReservationService.toOutcome(confirm,
                decision(Kind.ORDER_CREATED, null, null, TWO_LINES))).order();

        assertThat(single).isEqualTo(new OrderCreated(ReservationService.eventId(confirm), "c-1", ORDER, HOLD, USER, ITEM, 2, 8,
                null, DECIDED_AT));
        assertThat(cart).isEqualTo(new OrderCreated(ReservationService.eventId(confirm), "c-1", ORDER, HOLD, USER, null, null, null,
                List.of(new OrderCreated.Line(ITEM, 2, 8), new OrderCreated.Line(OTHER, 1, 0)), DECIDED_AT));
        assertValid("order-created", single);
        assertValid("order-created", cart);
    }

    @Test
    void aReleaseAnExtensionAndARejection_areTheirEvents() {
        var release = request(Type.RELEASE, "r-1", null);
        var extend = request(Type.EXTEND, "e-1", Duration.ofMinutes(5));
        var late = request(Type.CONFIRM, "c-2", null);

        var released = ReservationService.toOutcome(release, decision(Kind.RESERVATION_RELEASED, null, null, TWO_LINES));
        var extended = ReservationService.toOutcome(extend, decision(Kind.RESERVATION_EXTENDED, null, ITEM, ONE_LINE));
        var rejected = ReservationService.toOutcome(late, decision(Kind.REJECTED, "reservation_expired", ITEM, ONE_LINE));

        assertThat(released).isEqualTo(new ReservationReleased(ReservationService.eventId(release), "r-1", HOLD, USER, TWO_LINES,
                DECIDED_AT));
        assertThat(extended).isEqualTo(new ReservationExtended(ReservationService.eventId(extend), "e-1", HOLD, USER, EXPIRES,
                DECIDED_AT));
        assertThat(rejected).isEqualTo(new ReservationRejected(ReservationService.eventId(late), "c-2", HOLD, "reservation_expired",
                ReservationErrorCode.RESERVATION_EXPIRED.message(), DECIDED_AT));
        assertValid("reservation-released", released);
        assertValid("reservation-extended", extended);
        assertValid("reservation-rejected", rejected);
    }

    @Test
    void everyRejectionCode_hasItsMessage_andAnUnknownOnePassesThrough() {
        var confirm = request(Type.CONFIRM, "c-3", null);
        for (ReservationErrorCode code : ReservationErrorCode.values()) {
            var rejected = (ReservationRejected) ReservationService.toOutcome(confirm, decision(Kind.REJECTED, code.code(), null, null));
            assertThat(rejected.errorCode()).isEqualTo(code.code());
            assertThat(rejected.message()).isEqualTo(code.message()).isNotBlank();
            assertValid("reservation-rejected", rejected);
        }
        assertThat(List.of(ReservationErrorCode.values())).map(ReservationErrorCode::code).containsExactlyInAnyOrder(
                "reservation_not_found", "reservation_expired", "reservation_confirmed", "reservation_released", "invalid_hold",
                "hold_limit_exceeded", "idempotency_key_reused");
        var unknown = (ReservationRejected) ReservationService.toOutcome(confirm, decision(Kind.REJECTED, "held_elsewhere", null, null));
        assertThat(unknown.message()).contains("held_elsewhere", "does not know");
    }

    @Test
    void anExpiry_isAnnouncedUnderTheHoldsId_andOneThatAnnouncesNothingHasNoAnswer() {
        var expire = new ReservationRequested(Type.EXPIRE, null, HOLD, null, "reservation-requests-0@7");
        var expired = new ReservationGateway.Decision(Kind.RESERVATION_EXPIRED, null, null, USER, "hold-key", ITEM, EXPIRES,
                DECIDED_AT, false, ONE_LINE);
        var nothing = new ReservationGateway.Decision(null, null, null, USER, "hold-key", ITEM, EXPIRES, DECIDED_AT, false, ONE_LINE);

        List<Answer<ReservationOutcome>> answers = new ReservationService(gateway(requests -> List.of(expired, nothing, expired)))
                .decide(List.of(expire, expire, expire));

        UUID id = UUID.nameUUIDFromBytes(("reservation-expired:" + HOLD).getBytes(StandardCharsets.UTF_8));
        assertThat(answers).as("the one that announces nothing left out").hasSize(2);
        assertThat(answers.get(0).event()).isEqualTo(new ReservationExpired(id, "hold-key", HOLD, USER, ONE_LINE, EXPIRES, DECIDED_AT));
        assertThat(answers.get(1).event()).isEqualTo(answers.get(0).event());
        assertThat(answers.get(0).kind()).isEqualTo("RESERVATION_EXPIRED");
        assertValid("reservation-expired", answers.get(0).event());
    }

    @Test
    void everyOutcomeOfAKey_carriesTheIdNamedAfterTheKey_onEveryReplay() {
        var confirm = request(Type.CONFIRM, "key-1", null);
        UUID id = UUID.nameUUIDFromBytes("reservation:key-1".getBytes(StandardCharsets.UTF_8));

        assertThat(ReservationService.eventId(confirm)).isEqualTo(id);
        var first = ReservationService.toOutcome(confirm, decision(Kind.ORDER_CREATED, null, ITEM, ONE_LINE));
        var replayed = ReservationService.toOutcome(confirm, new ReservationGateway.Decision(Kind.ORDER_CREATED, null, ORDER, USER,
                "hold-key", ITEM, null, DECIDED_AT, true, ONE_LINE));
        assertThat(first.eventId()).isEqualTo(id);
        assertThat(replayed).isEqualTo(first);
        assertThat(ReservationService.toOutcome(confirm, decision(Kind.REJECTED, "reservation_expired", ITEM, ONE_LINE)).eventId())
                .isEqualTo(id);
    }

    @Test
    void aReusedKey_isRejectedUnderAnIdOfItsOwn_stableAcrossRedeliveries() {
        var first = request(Type.CONFIRM, "key-2", null);
        var reusedForAnExtension = request(Type.EXTEND, "key-2", Duration.ofMinutes(5));
        var reusedForAnotherExtension = request(Type.EXTEND, "key-2", Duration.ofMinutes(6));
        var reused = decision(Kind.REJECTED, "idempotency_key_reused", null, null);

        UUID id = ReservationService.toOutcome(reusedForAnExtension, reused).eventId();

        assertThat(id).isNotEqualTo(ReservationService.eventId(first))
                .isEqualTo(ReservationService.toOutcome(request(Type.EXTEND, "key-2", Duration.ofMinutes(5)), reused).eventId())
                .isNotEqualTo(ReservationService.toOutcome(reusedForAnotherExtension, reused).eventId());
    }

    @Test
    void decide_answersInRequestOrder_andAsksTheGatewayOnce() {
        var confirm = request(Type.CONFIRM, "c-4", null);
        var release = request(Type.RELEASE, "r-4", null);
        List<List<ReservationRequested>> calls = new ArrayList<>();

        var answers = new ReservationService(gateway(requests -> {
            calls.add(requests);
            return List.of(decision(Kind.ORDER_CREATED, null, ITEM, ONE_LINE), decision(Kind.REJECTED, "reservation_confirmed", ITEM, ONE_LINE));
        })).decide(List.of(confirm, release));

        assertThat(calls).containsExactly(List.of(confirm, release));
        assertThat(answers).map(Answer::kind).containsExactly("ORDER_CREATED", "REJECTED");
        assertThat(answers.get(1).errorCode()).isEqualTo("reservation_confirmed");
    }

    private static ReservationGateway gateway(Function<List<ReservationRequested>, List<ReservationGateway.Decision>> decide) {
        return new ReservationGateway() {
            @Override
            public List<Decision> decide(List<ReservationRequested> requests) {
                return decide.apply(requests);
            }

            @Override
            public List<UUID> sweep(int limit, Duration resendAfter) {
                throw new UnsupportedOperationException();
            }
        };
    }

    private static ReservationRequested request(Type type, String key, Duration holdFor) {
        return new ReservationRequested(type, new IdempotencyKey(key), HOLD, holdFor, "reservation-requests-0@1");
    }

    private static ReservationGateway.Decision decision(Kind kind, String errorCode, UUID item, List<ReservationLine> lines) {
        return new ReservationGateway.Decision(kind, errorCode, kind == Kind.ORDER_CREATED ? ORDER : null, USER, "hold-key", item,
                EXPIRES, DECIDED_AT, false, lines);
    }

    private void assertValid(String topic, Object event) {
        assertThat(RequestReader.loadSchema("schemas/" + topic + ".schema.json").validate(json.valueToTree(event)))
                .as(topic + ": " + json.writeValueAsString(event)).isEmpty();
    }
}
