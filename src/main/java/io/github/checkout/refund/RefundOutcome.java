package io.github.checkout.refund;

import java.time.Instant;
import java.util.UUID;

/**
 * The one decision for a refund request. Every outcome is an event contract (see {@code schemas/}),
 * with an {@code eventId} derived from the idempotency key: a replayed decision is published again
 * with the same event id and the same {@code occurredAt}, the time it was first decided.
 */
public sealed interface RefundOutcome permits OrderRefunded, RefundRejected {

    /** Which of the two outcomes this is; a {@code switch} over it must name every kind. */
    enum Kind { ORDER_REFUNDED, REJECTED }

    Kind kind();

    UUID eventId();

    String idempotencyKey();

    UUID orderId();

    /**
     * The item of a single-item order, or the line a request named; null for an unknown order, and for a
     * cart's order when the request named no line.
     */
    UUID itemId();

    Instant occurredAt();
}
