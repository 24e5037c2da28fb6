package io.github.checkout.request;

import java.util.Objects;

/** The check every text of a request passes before it reaches the database. */
public final class StorableText {

    private StorableText() {
    }

    /**
     * Throws {@link IllegalArgumentException} unless {@code text} has 1 to {@code maxLength} code points
     * (as JSON Schema counts characters) and holds neither U+0000 nor half a surrogate pair: both are valid
     * JSON escapes, and the only strings PostgreSQL text cannot store.
     */
    public static void require(String name, String text, int maxLength) {
        Objects.requireNonNull(text, name);
        if (text.isEmpty() || text.codePointCount(0, text.length()) > maxLength) {
            throw new IllegalArgumentException(name + " must have 1 to " + maxLength + " characters (code points, as in the schema)");
        }
        if (text.codePoints().anyMatch(c -> c == 0 || Character.getType(c) == Character.SURROGATE)) {
            throw new IllegalArgumentException(name + " holds U+0000 or half a surrogate pair, which PostgreSQL text cannot store");
        }
    }
}
