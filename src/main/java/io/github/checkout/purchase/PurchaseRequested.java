package io.github.checkout.purchase;

import io.github.checkout.request.IdempotencyKey;
import java.util.Objects;
import java.util.UUID;

/**
 * A buyer asks for {@code quantity} units of an item; the event read from {@code purchase-requests}.
 * The quantity is not range-checked here: an out-of-range quantity is a business rejection
 * ({@code invalid_quantity}) decided and recorded by the database, not a malformed message.
 */
public record PurchaseRequested(IdempotencyKey idempotencyKey, UUID userId, UUID itemId, int quantity) {

    public PurchaseRequested {
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(itemId, "itemId");
    }
}
