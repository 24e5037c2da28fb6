package io.github.checkout.request;

/**
 * The key a producer chooses for one request and reuses for its retries: one key is one decision,
 * forever. 1 to {@value #MAX_LENGTH} characters, counted in code points as the schemas count them,
 * and {@link StorableText storable}; on the wire it is a plain string.
 */
public record IdempotencyKey(String value) {

    public static final int MAX_LENGTH = 200;

    public IdempotencyKey {
        StorableText.require("idempotencyKey", value, MAX_LENGTH);
    }
}
