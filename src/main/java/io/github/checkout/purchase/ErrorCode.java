package io.github.checkout.purchase;

import java.util.Arrays;

/** Why a purchase request was rejected, as written in {@code PurchaseRejected.errorCode}. */
public enum ErrorCode {
    ITEM_NOT_FOUND("item_not_found", "no item with this id exists"),
    INVALID_QUANTITY("invalid_quantity", "quantity must be between 1 and 1000"),
    IDEMPOTENCY_KEY_REUSED("idempotency_key_reused",
            "this idempotency key was already used for a different user, item or quantity"),
    EMPTY_CART("empty_cart", "a cart needs at least one line"),
    TOO_MANY_LINES("too_many_lines", "a cart may have at most 50 lines"),
    INVALID_HOLD("invalid_hold", "holdFor must be longer than zero and at most checkout.holds.max-duration");

    private final String code;
    private final String message;

    ErrorCode(String code, String message) {
        this.code = code;
        this.message = message;
    }

    public String code() {
        return code;
    }

    public String message() {
        return message;
    }

    /**
     * The message for a code as the database stored it. A code this version does not know (a newer
     * migration, during a rolling upgrade) passes through in the event with a message that says so,
     * rather than failing after the database committed the decision.
     */
    public static String messageFor(String code) {
        return Arrays.stream(values()).filter(e -> e.code.equals(code)).findFirst().map(ErrorCode::message)
                .orElse("rejected with code " + code + ", which this version of the service does not know");
    }
}
