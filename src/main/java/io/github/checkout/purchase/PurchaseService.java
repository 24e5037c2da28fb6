package io.github.checkout.purchase;

import io.github.checkout.request.Answer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.stereotype.Service;

/** Decides purchase requests through the gateway and turns each stored decision into its outcome event. */
@Service
public class PurchaseService {

    private final PurchaseGateway gateway;

    public PurchaseService(PurchaseGateway gateway) {
        this.gateway = gateway;
    }

    /** One answer per request, in request order. */
    public List<Answer<PurchaseOutcome>> decide(List<PurchaseRequested> requests) {
        if (requests.isEmpty()) {
            return List.of();
        }
        List<PurchaseGateway.Decision> decisions = gateway.decide(requests);
        if (decisions.size() != requests.size()) {
            throw new IllegalStateException("expected " + requests.size() + " decisions, got " + decisions.size());
        }
        List<Answer<PurchaseOutcome>> answers = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            PurchaseGateway.Decision d = decisions.get(i);
            answers.add(new Answer<>(toOutcome(requests.get(i), d), d.kind().name(), d.errorCode(), d.replayed()));
        }
        return answers;
    }

    static PurchaseOutcome toOutcome(PurchaseRequested r, PurchaseGateway.Decision d) {
        String key = r.idempotencyKey().value();
        return switch (d.kind()) {
            case ORDER_CREATED -> new OrderCreated(eventId(r), key, d.orderId(), r.userId(), r.itemId(), r.quantity(),
                    d.stock(), d.decidedAt());
            case OUT_OF_STOCK -> new OutOfStock(eventId(r), key, r.userId(), r.itemId(), r.quantity(), d.stock(),
                    d.decidedAt());
            case REJECTED -> new PurchaseRejected(eventId(r, d.errorCode()), key, r.userId(), r.itemId(), d.errorCode(),
                    ErrorCode.messageFor(d.errorCode()), d.decidedAt());
        };
    }

    /**
     * The event id of the decision stored under the request's idempotency key: the same for every
     * replay, so consumers can drop a re-published outcome by its id.
     */
    public static UUID eventId(PurchaseRequested request) {
        return nameBased("purchase:" + request.idempotencyKey().value());
    }

    /**
     * A key reused for a different request is answered without touching the stored decision; its
     * rejection gets an id of its own (derived from the key and the conflicting request), so it is
     * never mistaken for the first decision and is still stable across redeliveries.
     */
    private static UUID eventId(PurchaseRequested r, String code) {
        return ErrorCode.IDEMPOTENCY_KEY_REUSED.code().equals(code)
                ? nameBased("purchase:" + r.idempotencyKey().value() + ":reused:" + r.userId() + ":" + r.itemId() + ":"
                        + r.quantity())
                : eventId(r);
    }

    private static UUID nameBased(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
    }
}
