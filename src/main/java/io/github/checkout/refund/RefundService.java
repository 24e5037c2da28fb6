package io.github.checkout.refund;

import io.github.checkout.request.Answer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.stereotype.Service;

/** Decides refund requests through the gateway and turns each stored decision into its outcome event. */
@Service
public class RefundService {

    private final RefundGateway gateway;

    public RefundService(RefundGateway gateway) {
        this.gateway = gateway;
    }

    /** One answer per request, in request order. */
    public List<Answer<RefundOutcome>> decide(List<RefundRequested> requests) {
        if (requests.isEmpty()) {
            return List.of();
        }
        List<RefundGateway.Decision> decisions = gateway.decide(requests);
        if (decisions.size() != requests.size()) {
            throw new IllegalStateException("expected " + requests.size() + " decisions, got " + decisions.size());
        }
        List<Answer<RefundOutcome>> answers = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            RefundGateway.Decision d = decisions.get(i);
            answers.add(new Answer<>(toOutcome(requests.get(i), d), d.kind().name(), d.errorCode(), d.replayed()));
        }
        return answers;
    }

    static RefundOutcome toOutcome(RefundRequested r, RefundGateway.Decision d) {
        String key = r.idempotencyKey().value();
        return switch (d.kind()) {
            case ORDER_REFUNDED -> d.lines() == null
                    ? new OrderRefunded(eventId(r), key, r.orderId(), d.itemId(), d.quantity(), d.stock(), d.decidedAt())
                    : new OrderRefunded(eventId(r), key, r.orderId(), null, d.quantity(), null,
                            d.lines().stream().map(l -> new OrderRefunded.Line(l.itemId(), l.quantity(), l.stock())).toList(),
                            d.decidedAt());
            case REJECTED -> new RefundRejected(eventId(r, d.errorCode()), key, r.orderId(), d.itemId(), d.errorCode(),
                    RefundErrorCode.messageFor(d.errorCode()), d.decidedAt());
        };
    }

    /**
     * The event id of the decision stored under the request's idempotency key: the same for every
     * replay, and never the id of a purchase outcome, whose names start differently.
     */
    public static UUID eventId(RefundRequested request) {
        return nameBased("refund:" + request.idempotencyKey().value());
    }

    /**
     * A reused key's rejection gets an id of its own, stable across redeliveries of the conflicting request: named
     * after its order (and the line's item, when it names one), quantity and reason.
     */
    private static UUID eventId(RefundRequested r, String code) {
        return RefundErrorCode.IDEMPOTENCY_KEY_REUSED.code().equals(code)
                ? nameBased("refund:" + r.idempotencyKey().value() + ":reused:" + r.orderId()
                        + (r.itemId() == null ? "" : "/" + r.itemId()) + ":" + r.quantity() + ":" + r.reason())
                : eventId(r);
    }

    private static UUID nameBased(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
    }
}
