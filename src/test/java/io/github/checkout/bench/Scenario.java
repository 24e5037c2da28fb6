package io.github.checkout.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * What is bought: which items, with what stock, in what mix, and how the requests are offered. Every scenario
 * but CART sends single-item requests; CART sends carts, each a request of its own. HOLD places single-item
 * holds on the items of UNIFORM, then confirms 80% of them and lets the rest expire.
 */
enum Scenario {
    HOT("one hot item, ample stock"),
    UNIFORM("uniform over 10,000 items"),
    FLASH("flash sale: stock 100, every buyer at once"),
    ZIPF("Zipf over 10,000 items, 10% duplicate deliveries"),
    CART("carts of 1 to 5 lines, Zipf over 10,000 items, stock for every cart"),
    HOLD("holds uniform over 10,000 items: 80% confirmed, 20% left to expire"),
    LATENCY("open loop at a fixed rate, uniform over 10,000 items");

    final String description;

    Scenario(String description) {
        this.description = description;
    }

    String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Scenario of(String id) {
        return Arrays.stream(values()).filter(s -> s.id().equalsIgnoreCase(id.trim())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown scenario '" + id + "', expected one of "
                        + Arrays.stream(values()).map(Scenario::id).toList()));
    }
}
