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
     * {@code replayed}: the request was answered with a decision made before, not decided now. For a cart,
     * {@code stock} is null and {@code lines} holds its merged lines (one per item, in the order of first
     * appearance) when the decision is about them: an order, out of stock, or a rejection for an unknown item
     * or a bad quantity; null otherwise, and always null for a single-item request. A hold ({@code STOCK_RESERVED})
     * is told like an order, with {@code reservationId} and {@code expiresAt} (both null otherwise).
     */
    record Decision(PurchaseOutcome.Kind kind, UUID orderId, Integer stock, String errorCode, Instant decidedAt,
                    boolean replayed, List<Line> lines, UUID reservationId, Instant expiresAt) {

        public Decision(PurchaseOutcome.Kind kind, UUID orderId, Integer stock, String errorCode, Instant decidedAt,
                        boolean replayed, List<Line> lines) {
            this(kind, orderId, stock, errorCode, decidedAt, replayed, lines, null, null);
        }

        public Decision(PurchaseOutcome.Kind kind, UUID orderId, Integer stock, String errorCode, Instant decidedAt,
                        boolean replayed) {
            this(kind, orderId, stock, errorCode, decidedAt, replayed, null, null, null);
        }
    }

    /**
     * A merged line of a cart: {@code stock} is the remaining stock after an order, the available stock
     * otherwise; {@code errorCode} the line's own rejection, null for a line that is fine.
     */
    record Line(UUID itemId, int quantity, Integer stock, String errorCode) {
    }
}
