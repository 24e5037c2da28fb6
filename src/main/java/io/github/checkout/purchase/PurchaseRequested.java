package io.github.checkout.purchase;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * A buyer asks for {@code quantity} units of an item; the event read from {@code purchase-requests}.
 * The quantity is not range-checked here: an out-of-range quantity is a business rejection
 * ({@code invalid_quantity}) decided and recorded by the database, not a malformed message.
 */
public record PurchaseRequested(String idempotencyKey, UUID userId, UUID itemId, int quantity, Instant requestedAt) {

    public static final int MAX_KEY_LENGTH = 200;

    public PurchaseRequested {
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(itemId, "itemId");
        if (idempotencyKey.isEmpty() || idempotencyKey.codePointCount(0, idempotencyKey.length()) > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("idempotencyKey must have 1 to " + MAX_KEY_LENGTH + " characters (code points, as in the schema)");
        }
        if (!storable(idempotencyKey)) {
            throw new IllegalArgumentException("idempotencyKey holds U+0000 or half a surrogate pair, which PostgreSQL text cannot store");
        }
    }

    /** PostgreSQL text holds any string but one with U+0000 or an unpaired surrogate (both valid JSON escapes). */
    private static boolean storable(String text) {
        return text.codePoints().noneMatch(c -> c == 0 || Character.getType(c) == Character.SURROGATE);
    }
}
