package io.github.checkout.reservation;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** The port to the store that decides reservation requests atomically and expires holds whose time is up. */
public interface ReservationGateway {

    /**
     * Decides the requests in one transaction, committed before this method returns, with results
     * identical to deciding each request alone in list order. Returns one decision per request, in
     * the same order. Throws only for infrastructure failures; the caller may then retry the whole
     * list, since a request that was already decided is answered from its stored decision, and an expiry
     * from the same record announces again.
     */
    List<Decision> decide(List<ReservationRequested> requests);

    /**
     * In a transaction of its own, committed before this method returns: expires up to {@code limit} holds whose
     * time is up, and returns the ids of expired holds whose expiry nobody announced yet and for which none was sent
     * in the last {@code resendAfter}, marked as sent now. The caller sends an ExpireReservation for each.
     */
    List<UUID> sweep(int limit, Duration resendAfter);

    /**
     * A decision as stored. {@code kind} null: an expiry that announces nothing. {@code userId}, {@code holdKey}
     * (the key of the request that placed the hold), {@code expiresAt} and {@code lines} describe the hold, when
     * it exists; {@code itemId} is a single-item hold's item, null for a cart's. {@code lines}, once the hold ended
     * (confirmed, released, expired), carry each item's stock after its end; null while it is live. {@code replayed}: answered with a decision made before, not decided now.
     */
    record Decision(ReservationOutcome.Kind kind, String errorCode, UUID orderId, UUID userId, String holdKey, UUID itemId,
                    Instant expiresAt, Instant decidedAt, boolean replayed, List<ReservationLine> lines) {
    }
}
