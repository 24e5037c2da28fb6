package io.github.checkout.purchase;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** The port to the store that decides purchase requests atomically. */
public interface PurchaseGateway {

    /**
     * Decides the requests in one transaction, committed before this method returns, with results
     * identical to deciding each request alone in list order. Returns one decision per request, in
     * the same order. Throws only for infrastructure failures; the caller may then retry the whole
     * list, since a request that was already decided is answered from its stored decision.
     */
    List<Decision> decide(List<PurchaseRequested> requests);

    /**
     * A decision as stored: {@code stock} is the remaining stock for an order, the available stock otherwise.
     * {@code replayed}: the request was answered with a decision made before, not decided now.
     */
    record Decision(PurchaseOutcome.Kind kind, UUID orderId, Integer stock, String errorCode, Instant decidedAt,
                    boolean replayed) {
    }
}
