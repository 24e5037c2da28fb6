package io.github.checkout.refund;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** The port to the store that decides refund requests atomically. */
public interface RefundGateway {

    /**
     * Decides the requests in one transaction, committed before this method returns, with results
     * identical to deciding each request alone in list order. Returns one decision per request, in
     * the same order. Throws only for infrastructure failures; the caller may then retry the whole
     * list, since a request that was already decided is answered from its stored decision.
     */
    List<Decision> decide(List<RefundRequested> requests);

    /**
     * A decision as stored: for a refund, the quantity put back and the item's stock after it;
     * {@code itemId} is the line the request named, else the order's item, null for an unknown order or a cart's
     * order. {@code replayed}: the request was answered with a decision made before, not decided now. For a
     * refund of a cart's order, {@code stock} is null, {@code quantity} the total and {@code lines} the lines put
     * back; {@code lines} is null otherwise.
     */
    record Decision(RefundOutcome.Kind kind, UUID itemId, Integer quantity, Integer stock, String errorCode,
                    Instant decidedAt, boolean replayed, List<Line> lines) {

        public Decision(RefundOutcome.Kind kind, UUID itemId, Integer quantity, Integer stock, String errorCode,
                        Instant decidedAt, boolean replayed) {
            this(kind, itemId, quantity, stock, errorCode, decidedAt, replayed, null);
        }
    }

    /** A line of a cart's order put back by a refund: the units and the item's stock after it. */
    record Line(UUID itemId, int quantity, int stock) {
    }
}
