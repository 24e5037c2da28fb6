package io.github.checkout.purchase;

import java.time.Instant;
import java.util.UUID;

/**
 * The one decision for a purchase request. Every outcome is an event contract (see {@code schemas/}),
 * keyed by item id (a cart's by user id), with an {@code eventId} derived from the idempotency key: a replayed decision is
 * published again with the same event id and the same {@code occurredAt}, the time it was first decided.
 */
public sealed interface PurchaseOutcome permits OrderCreated, StockReserved, OutOfStock, PurchaseRejected {

    /** Which of the outcomes this is; a {@code switch} over it must name every kind. */
    enum Kind { ORDER_CREATED, STOCK_RESERVED, OUT_OF_STOCK, REJECTED }

    Kind kind();

    UUID eventId();

    String idempotencyKey();

    UUID userId();

    /** The item of a single-item request; null for a cart. */
    UUID itemId();

    Instant occurredAt();
}
