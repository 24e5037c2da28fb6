package io.github.checkout.reservation;

import java.util.UUID;

/** A line of a hold: the units held of an item, and the item's stock after the hold ended. */
public record ReservationLine(UUID itemId, int quantity, int remainingStock) {
}
