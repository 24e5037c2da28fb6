package io.github.checkout.support;

import io.github.checkout.config.CheckoutProperties;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** Settings for a request reader built without Spring: the defaults, with the size limit given. */
public final class ReaderProperties {

    private ReaderProperties() {
    }

    public static CheckoutProperties withMaxRequestBytes(int maxRequestBytes) {
        return new Binder(new MapConfigurationPropertySource(Map.of("checkout.max-request-bytes", maxRequestBytes)))
                .bindOrCreate("checkout", CheckoutProperties.class);
    }
}
