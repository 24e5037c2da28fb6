package io.github.checkout.support;

import io.github.checkout.config.CheckoutProperties;
import java.time.Duration;

/** Settings for a request reader built without Spring: only the size limit matters to it. */
public final class ReaderProperties {

    private ReaderProperties() {
    }

    public static CheckoutProperties withMaxRequestBytes(int maxRequestBytes) {
        return new CheckoutProperties(
                new CheckoutProperties.Topics("r", "r.DLT", "c", "o", "j", "f", "f.DLT", "d", "x", 1),
                new CheckoutProperties.Batch(500, 1, Duration.ofMillis(100)),
                new CheckoutProperties.Retry(Duration.ofMillis(100), Duration.ofSeconds(5)), 1, maxRequestBytes);
    }
}
