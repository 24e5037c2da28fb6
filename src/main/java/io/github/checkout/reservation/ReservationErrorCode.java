package io.github.checkout.reservation;

import java.util.Arrays;

/** Why a reservation request was rejected, as written in {@code ReservationRejected.errorCode}. */
public enum ReservationErrorCode {
    RESERVATION_NOT_FOUND("reservation_not_found", "no hold with this id exists"),
    RESERVATION_EXPIRED("reservation_expired", "the hold expired; its stock went back"),
    RESERVATION_CONFIRMED("reservation_confirmed", "the hold was confirmed: it is an order now"),
    RESERVATION_RELEASED("reservation_released", "the hold was released; its stock went back"),
    INVALID_HOLD("invalid_hold", "holdFor must be longer than zero and at most checkout.holds.max-duration"),
    HOLD_LIMIT_EXCEEDED("hold_limit_exceeded",
            "the hold would end more than checkout.holds.max-lifetime after it was placed"),
    IDEMPOTENCY_KEY_REUSED("idempotency_key_reused",
            "this idempotency key was already used for a different request, reservation or holdFor");

    private final String code;
    private final String message;

    ReservationErrorCode(String code, String message) {
        this.code = code;
        this.message = message;
    }

    public String code() {
        return code;
    }

    public String message() {
        return message;
    }

    /**
     * The message for a code as the database stored it. A code this version does not know (a newer
     * migration, during a rolling upgrade) passes through in the event with a message that says so,
     * rather than failing after the database committed the decision.
     */
    public static String messageFor(String code) {
        return Arrays.stream(values()).filter(e -> e.code.equals(code)).findFirst().map(ReservationErrorCode::message)
                .orElse("rejected with code " + code + ", which this version of the service does not know");
    }
}
