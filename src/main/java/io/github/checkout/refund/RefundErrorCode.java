package io.github.checkout.refund;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/** Why a refund request was rejected, as written in {@code RefundRejected.errorCode}. */
public enum RefundErrorCode {
    ORDER_NOT_FOUND("order_not_found", "no order with this id exists"),
    ALREADY_REFUNDED("already_refunded",
            "the order is already refunded, or less of it is left to refund than was asked"),
    INVALID_QUANTITY("invalid_quantity", "quantity must be at least 1 and at most the quantity ordered"),
    IDEMPOTENCY_KEY_REUSED("idempotency_key_reused",
            "this idempotency key was already used for a different order, quantity or reason");

    private final String code;
    private final String message;

    RefundErrorCode(String code, String message) {
        this.code = code;
        this.message = message;
    }

    @JsonValue
    public String code() {
        return code;
    }

    public String message() {
        return message;
    }

    public static RefundErrorCode of(String code) {
        return Arrays.stream(values()).filter(e -> e.code.equals(code)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown refund error code: " + code));
    }
}
