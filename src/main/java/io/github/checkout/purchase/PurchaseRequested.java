package io.github.checkout.purchase;

import io.github.checkout.request.IdempotencyKey;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A buyer asks for {@code quantity} units of an item, or for a cart of {@code lines}; the event read from
 * {@code purchase-requests}. Exactly one of {@code itemId} and {@code lines} is set; a cart's {@code quantity}
 * is 0 (each line has its own). Nothing is range-checked here: an out-of-range quantity, an empty cart or one
 * of too many lines is a business rejection decided and recorded by the database, not a malformed message.
 * {@code holdFor}, when set, asks for a hold instead of an order: the stock is reserved for that long
 * ({@code StockReserved}); a duration out of range is the database's {@code invalid_hold}, not poison.
 */
public record PurchaseRequested(IdempotencyKey idempotencyKey, UUID userId, UUID itemId, int quantity, List<Line> lines,
                                Duration holdFor) {

    /** One line of a cart, as sent: lines naming the same item are merged by the database, not here. */
    public record Line(UUID itemId, int quantity) {

        public Line {
            Objects.requireNonNull(itemId, "itemId");
        }
    }

    public PurchaseRequested {
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
        Objects.requireNonNull(userId, "userId");
        if ((itemId == null) == (lines == null)) {
            throw new IllegalArgumentException("a purchase request names either one item or the lines of a cart");
        }
        if (lines != null && quantity != 0) {
            throw new IllegalArgumentException("a cart has no quantity of its own, only its lines have");
        }
        lines = lines == null ? null : List.copyOf(lines);
    }

    /** A request to buy now. */
    public PurchaseRequested(IdempotencyKey idempotencyKey, UUID userId, UUID itemId, int quantity, List<Line> lines) {
        this(idempotencyKey, userId, itemId, quantity, lines, null);
    }

    /** A single-item request. */
    public PurchaseRequested(IdempotencyKey idempotencyKey, UUID userId, UUID itemId, int quantity) {
        this(idempotencyKey, userId, Objects.requireNonNull(itemId, "itemId"), quantity, null);
    }

    /** A cart: its lines in the order sent, possibly none (the database rejects an empty cart). */
    public static PurchaseRequested cart(IdempotencyKey idempotencyKey, UUID userId, List<Line> lines) {
        return new PurchaseRequested(idempotencyKey, userId, null, 0, Objects.requireNonNull(lines, "lines"));
    }

    public boolean isCart() {
        return lines != null;
    }

    /** The same request, asking to hold the stock for {@code holdFor} (null: buy now). */
    public PurchaseRequested withHoldFor(Duration holdFor) {
        return new PurchaseRequested(idempotencyKey, userId, itemId, quantity, lines, holdFor);
    }
}
