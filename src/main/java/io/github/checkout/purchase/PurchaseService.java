package io.github.checkout.purchase;

import io.github.checkout.request.Answer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
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
        return r.isCart() ? cartOutcome(r, d) : singleItemOutcome(r, d);
    }

    private static PurchaseOutcome singleItemOutcome(PurchaseRequested r, PurchaseGateway.Decision d) {
        String key = r.idempotencyKey().value();
        return switch (d.kind()) {
            case ORDER_CREATED -> new OrderCreated(eventId(r), key, d.orderId(), r.userId(), r.itemId(), r.quantity(),
                    d.stock(), d.decidedAt());
            case STOCK_RESERVED -> new StockReserved(eventId(r), key, d.reservationId(), r.userId(), r.itemId(), r.quantity(),
                    d.stock(), null, d.expiresAt(), d.decidedAt());
            case OUT_OF_STOCK -> new OutOfStock(eventId(r), key, r.userId(), r.itemId(), r.quantity(), d.stock(),
                    d.decidedAt());
            case REJECTED -> new PurchaseRejected(eventId(r, d.errorCode()), key, r.userId(), r.itemId(), d.errorCode(),
                    ErrorCode.messageFor(d.errorCode()), d.decidedAt());
        };
    }

    /**
     * A cart's outcome names lines, merged as the database merged them: an order all of them, out of stock only
     * the short ones, a rejection only the ones with a code of their own (none for a code about the whole cart).
     */
    private static PurchaseOutcome cartOutcome(PurchaseRequested r, PurchaseGateway.Decision d) {
        String key = r.idempotencyKey().value();
        List<PurchaseGateway.Line> lines = d.lines() == null ? List.of() : d.lines();
        return switch (d.kind()) {
            case ORDER_CREATED -> new OrderCreated(eventId(r), key, d.orderId(), r.userId(), null, null, null,
                    orderLines(lines), d.decidedAt());
            case STOCK_RESERVED -> new StockReserved(eventId(r), key, d.reservationId(), r.userId(), null, null, null,
                    orderLines(lines), d.expiresAt(), d.decidedAt());
            case OUT_OF_STOCK -> new OutOfStock(eventId(r), key, r.userId(), null, null, null,
                    lines.stream().filter(l -> l.quantity() > l.stock())
                            .map(l -> new OutOfStock.Line(l.itemId(), l.quantity(), l.stock())).toList(),
                    d.decidedAt());
            case REJECTED -> {
                List<PurchaseRejected.Line> offending = lines.stream().filter(l -> l.errorCode() != null)
                        .map(l -> new PurchaseRejected.Line(l.itemId(), l.quantity(), l.errorCode())).toList();
                yield new PurchaseRejected(eventId(r, d.errorCode()), key, r.userId(), null, d.errorCode(),
                        ErrorCode.messageFor(d.errorCode()), offending.isEmpty() ? null : offending, d.decidedAt());
            }
        };
    }

    private static List<OrderCreated.Line> orderLines(List<PurchaseGateway.Line> lines) {
        return lines.stream().map(l -> new OrderCreated.Line(l.itemId(), l.quantity(), l.stock())).toList();
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
     * rejection gets an id of its own (derived from the key and the conflicting request: its user and its
     * item and quantity, or its lines as sent, and the hold it asks for), so it is never mistaken for the first
     * decision and is still stable across redeliveries.
     */
    private static UUID eventId(PurchaseRequested r, String code) {
        if (!ErrorCode.IDEMPOTENCY_KEY_REUSED.code().equals(code)) {
            return eventId(r);
        }
        String request = r.isCart()
                ? r.lines().stream().map(l -> l.itemId() + ":" + l.quantity()).collect(Collectors.joining(",", "[", "]"))
                : r.itemId() + ":" + r.quantity();
        String hold = r.holdFor() == null ? "" : ":hold:" + r.holdFor();
        return nameBased("purchase:" + r.idempotencyKey().value() + ":reused:" + r.userId() + ":" + request + hold);
    }

    private static UUID nameBased(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
    }
}
