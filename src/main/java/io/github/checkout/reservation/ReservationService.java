package io.github.checkout.reservation;

import io.github.checkout.purchase.OrderCreated;
import io.github.checkout.request.Answer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.stereotype.Service;

/** Decides reservation requests through the gateway and turns each stored decision into its outcome event. */
@Service
public class ReservationService {

    private final ReservationGateway gateway;

    public ReservationService(ReservationGateway gateway) {
        this.gateway = gateway;
    }

    /** One answer per request that has an outcome, in request order: an expiry that announces nothing has none. */
    public List<Answer<ReservationOutcome>> decide(List<ReservationRequested> requests) {
        if (requests.isEmpty()) {
            return List.of();
        }
        List<ReservationGateway.Decision> decisions = gateway.decide(requests);
        if (decisions.size() != requests.size()) {
            throw new IllegalStateException("expected " + requests.size() + " decisions, got " + decisions.size());
        }
        List<Answer<ReservationOutcome>> answers = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            ReservationGateway.Decision d = decisions.get(i);
            ReservationOutcome outcome = toOutcome(requests.get(i), d);
            if (outcome != null) {
                answers.add(new Answer<>(outcome, d.kind().name(), d.errorCode(), d.replayed()));
            }
        }
        return answers;
    }

    /** The outcome of a decision; null for an expiry that announces nothing. */
    static ReservationOutcome toOutcome(ReservationRequested r, ReservationGateway.Decision d) {
        if (r.type() == ReservationRequested.Type.EXPIRE) {
            // An expiry announces an expired hold or nothing: it has no key to answer a rejection under.
            return d.kind() == ReservationOutcome.Kind.RESERVATION_EXPIRED
                    ? new ReservationExpired(expiredEventId(r.reservationId()), d.holdKey(), r.reservationId(), d.userId(),
                            d.lines(), d.expiresAt(), d.decidedAt())
                    : null;
        }
        if (d.kind() == null) {
            throw new IllegalStateException("no outcome for the " + r.type() + " of hold " + r.reservationId());
        }
        String key = r.idempotencyKey().value();
        return switch (d.kind()) {
            case ORDER_CREATED -> new ReservationConfirmed(order(r, d));
            case RESERVATION_RELEASED -> new ReservationReleased(eventId(r), key, r.reservationId(), d.userId(), d.lines(),
                    d.decidedAt());
            case RESERVATION_EXTENDED -> new ReservationExtended(eventId(r), key, r.reservationId(), d.userId(),
                    d.expiresAt(), d.decidedAt());
            case RESERVATION_EXPIRED -> throw new IllegalStateException("the " + r.type() + " of hold " + r.reservationId()
                    + " was answered as an expiry");
            case REJECTED -> new ReservationRejected(eventId(r, d.errorCode()), key, r.reservationId(), d.errorCode(),
                    ReservationErrorCode.messageFor(d.errorCode()), d.decidedAt());
        };
    }

    /** A single-item hold's order names its item, a cart's its lines, as any order does. */
    private static OrderCreated order(ReservationRequested r, ReservationGateway.Decision d) {
        String key = r.idempotencyKey().value();
        if (d.itemId() != null) {
            ReservationLine line = d.lines().get(0);
            return new OrderCreated(eventId(r), key, d.orderId(), r.reservationId(), d.userId(), d.itemId(), line.quantity(),
                    line.remainingStock(), null, d.decidedAt());
        }
        return new OrderCreated(eventId(r), key, d.orderId(), r.reservationId(), d.userId(), null, null, null,
                d.lines().stream().map(l -> new OrderCreated.Line(l.itemId(), l.quantity(), l.remainingStock())).toList(),
                d.decidedAt());
    }

    /**
     * The event id of the decision stored under the request's idempotency key: the same for every replay, and
     * never the id of a purchase's or a refund's outcome, whose names start differently.
     */
    public static UUID eventId(ReservationRequested request) {
        return nameBased("reservation:" + request.idempotencyKey().value());
    }

    /** The id of a hold's one expiry, whichever record announced it. */
    public static UUID expiredEventId(UUID reservationId) {
        return nameBased("reservation-expired:" + reservationId);
    }

    /**
     * A reused key's rejection gets an id of its own, stable across redeliveries of the conflicting request: named
     * after its type, hold and holdFor.
     */
    private static UUID eventId(ReservationRequested r, String code) {
        return ReservationErrorCode.IDEMPOTENCY_KEY_REUSED.code().equals(code)
                ? nameBased("reservation:" + r.idempotencyKey().value() + ":reused:" + r.type().kind() + ":"
                        + r.reservationId() + ":" + r.holdFor())
                : eventId(r);
    }

    private static UUID nameBased(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
    }
}
