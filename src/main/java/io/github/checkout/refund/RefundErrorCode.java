package io.github.checkout.refund;

import java.util.Arrays;

/** Why a refund request was rejected, as written in {@code RefundRejected.errorCode}. */
public enum RefundErrorCode {
    ORDER_NOT_FOUND("order_not_found", "no order with this id exists"),
    ALREADY_REFUNDED("already_refunded",
            "the order is already refunded, or less of it is left to refund than was asked"),
    INVALID_QUANTITY("invalid_quantity", "quantity must be at least 1 and at most the quantity ordered"),
    IDEMPOTENCY_KEY_REUSED("idempotency_key_reused",
            "this idempotency key was already used for a different order, quantity or reason"),
    STOCK_LIMIT_EXCEEDED("stock_limit_exceeded",
            "putting the quantity back would take the item's stock past 2147483647, the most it can hold"),
    LINE_NOT_FOUND("line_not_found", "the order has no line for this item"),
    ITEM_REQUIRED("item_required", "a quantity of an order of several lines needs the item of the line it is for");

    private final String code;
    private final String message;

    RefundErrorCode(String code, String message) {
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
        return Arrays.stream(values()).filter(e -> e.code.equals(code)).findFirst().map(RefundErrorCode::message)
                .orElse("rejected with code " + code + ", which this version of the service does not know");
    }
}
