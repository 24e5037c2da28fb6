package io.github.checkout.reservation;

import io.github.checkout.request.IdempotencyKey;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;

/**
 * What becomes of a hold: the event read from {@code reservation-requests}. Confirm, release and extend carry the
 * producer's idempotency key; an expiry, sent by the service's sweep (or by hand), carries none and is deduplicated
 * by {@code source}, the coordinates of the record it came in ({@code topic-partition@offset}), set by the reader.
 * {@code holdFor} is an extension's, and is range-checked by the database ({@code invalid_hold}), not here.
 */
public record ReservationRequested(Type type, IdempotencyKey idempotencyKey, UUID reservationId, Duration holdFor,
                                   String source) {

    /** The request's {@code type} as written on the wire, and its kind as the database names it. */
    public enum Type {
        CONFIRM("ConfirmReservation", "confirm"),
        RELEASE("ReleaseReservation", "release"),
        EXTEND("ExtendReservation", "extend"),
        EXPIRE("ExpireReservation", "expire");

        private final String wire;
        private final String kind;

        Type(String wire, String kind) {
            this.wire = wire;
            this.kind = kind;
        }

        public String wire() {
            return wire;
        }

        public String kind() {
            return kind;
        }

        /** The type a message names in {@code type}; throws for any other text. */
        public static Type ofWire(String wire) {
            for (Type type : values()) {
                if (type.wire.equals(wire)) {
                    return type;
                }
            }
            throw new IllegalArgumentException("no reservation request type " + wire);
        }
    }

    public ReservationRequested {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(reservationId, "reservationId");
        if ((idempotencyKey == null) != (type == Type.EXPIRE)) {
            throw new IllegalArgumentException("every request but an expiry has an idempotency key, an expiry none");
        }
        if ((holdFor == null) == (type == Type.EXTEND)) {
            throw new IllegalArgumentException("an extension, and only an extension, has holdFor");
        }
    }
}
