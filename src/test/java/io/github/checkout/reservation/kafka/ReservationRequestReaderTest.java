package io.github.checkout.reservation.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.LogFields;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.messaging.RequestReader.Poison;
import io.github.checkout.messaging.RequestReader.Reason;
import io.github.checkout.messaging.RequestReader.Valid;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.reservation.ReservationRequested;
import io.github.checkout.reservation.ReservationRequested.Type;
import io.github.checkout.support.ReaderProperties;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class ReservationRequestReaderTest {

    private static final UUID HOLD = UUID.fromString("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b");
    private static final String SOURCE = "reservation-requests-3@42";

    private final ReservationRequestReader reader = new ReservationRequestReader(ReaderProperties.withMaxRequestBytes(1024));

    @Test
    void eachType_isReadWithTheRecordsCoordinatesAsItsSource() {
        assertThat(valid("{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"c\",\"reservationId\":\"%s\"}"))
                .isEqualTo(new ReservationRequested(Type.CONFIRM, new IdempotencyKey("c"), HOLD, null, SOURCE));
        assertThat(valid("{\"type\":\"ReleaseReservation\",\"idempotencyKey\":\"r\",\"reservationId\":\"%s\",\"note\":\"extra fields pass\"}"))
                .isEqualTo(new ReservationRequested(Type.RELEASE, new IdempotencyKey("r"), HOLD, null, SOURCE));
        assertThat(valid("{\"type\":\"ExtendReservation\",\"idempotencyKey\":\"e\",\"reservationId\":\"%s\",\"holdFor\":\"PT5M\"}"))
                .isEqualTo(new ReservationRequested(Type.EXTEND, new IdempotencyKey("e"), HOLD, Duration.ofMinutes(5), SOURCE));
        assertThat(valid("{\"type\":\"ExpireReservation\",\"reservationId\":\"%s\"}"))
                .isEqualTo(new ReservationRequested(Type.EXPIRE, null, HOLD, null, SOURCE));
    }

    @Test
    void anExtensionOutOfRange_isNotPoisonButLeftToTheDecision() {
        for (String holdFor : new String[] {"PT0S", "PT-5M", "-PT1S", "P365D", "PT0.000000001S"}) {
            assertThat(valid("{\"type\":\"ExtendReservation\",\"idempotencyKey\":\"e\",\"reservationId\":\"%s\",\"holdFor\":\""
                    + holdFor + "\"}").holdFor()).isEqualTo(Duration.parse(holdFor));
        }
    }

    @Test
    void anUnknownType_isASchemaViolation() {
        assertPoison("{\"type\":\"CancelReservation\",\"idempotencyKey\":\"c\",\"reservationId\":\"%s\"}", "/type");
        assertPoison("{\"type\":\"confirmreservation\",\"idempotencyKey\":\"c\",\"reservationId\":\"%s\"}", "/type");
        assertPoison("{\"idempotencyKey\":\"c\",\"reservationId\":\"%s\"}", "type");
    }

    @Test
    void aHoldForThatIsNoDuration_isASchemaViolationSayingSo() {
        String extend = "{\"type\":\"ExtendReservation\",\"idempotencyKey\":\"e\",\"reservationId\":\"%s\",\"holdFor\":%s}";
        assertPoison(extend.formatted(HOLD, "\"5 minutes\""), "/holdFor");
        assertPoison(extend.formatted(HOLD, "\"P1Y\""), "/holdFor");
        assertPoison(extend.formatted(HOLD, "300"), "/holdFor");
        // The pattern lets these through; java.time.Duration does not read them.
        for (String bad : new String[] {"P", "PT", "PT9999999999999999999H"}) {
            assertPoison(extend.formatted(HOLD, "\"" + bad + "\""),
                    "/holdFor: \"" + bad + "\" is no ISO-8601 duration java.time.Duration reads");
        }
    }

    @Test
    void missingOrMisplacedFields_areSchemaViolations() {
        assertPoison("{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"c\"}", "reservationId");
        assertPoison("{\"type\":\"ConfirmReservation\",\"reservationId\":\"%s\"}", "idempotencyKey");
        assertPoison("{\"type\":\"ReleaseReservation\",\"reservationId\":\"%s\"}", "idempotencyKey");
        assertPoison("{\"type\":\"ExtendReservation\",\"idempotencyKey\":\"e\",\"reservationId\":\"%s\"}", "holdFor");
        assertPoison("{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"c\",\"reservationId\":\"%s\",\"holdFor\":\"PT5M\"}", "holdFor");
        assertPoison("{\"type\":\"ExpireReservation\",\"idempotencyKey\":\"x\",\"reservationId\":\"%s\"}", "idempotencyKey");
        assertPoison("{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"c\",\"reservationId\":\"not-a-uuid\"}", "/reservationId");
        assertPoison("{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"\",\"reservationId\":\"%s\"}", "/idempotencyKey");
    }

    @Test
    void aRequest_isNamedInTheLogByItsHoldAndKey() {
        assertThat(reader.logFields(new ReservationRequested(Type.CONFIRM, new IdempotencyKey("c"), HOLD, null, SOURCE)))
                .isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "c", LogFields.RESERVATION_ID, HOLD.toString()));
        assertThat(reader.logFields(new ReservationRequested(Type.EXPIRE, null, HOLD, null, SOURCE)))
                .isEqualTo(Map.of(LogFields.RESERVATION_ID, HOLD.toString()));
    }

    private RequestReader.Read<ReservationRequested> read(String json) {
        byte[] value = json.formatted(HOLD).getBytes(StandardCharsets.UTF_8);
        return reader.readRecord(new ConsumerRecord<>("reservation-requests", 3, 42L, HOLD.toString().getBytes(StandardCharsets.UTF_8), value));
    }

    private ReservationRequested valid(String json) {
        RequestReader.Read<ReservationRequested> read = read(json);
        assertThat(read).as(json).isInstanceOf(Valid.class);
        return ((Valid<ReservationRequested>) read).request();
    }

    private void assertPoison(String json, String detail) {
        assertThat(read(json)).as(json).isInstanceOfSatisfying(Poison.class, p -> {
            assertThat(p.reason()).isEqualTo(Reason.SCHEMA_VIOLATION);
            assertThat(p.detail()).contains(detail);
        });
    }
}
