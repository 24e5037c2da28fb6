package io.github.checkout.config;

import java.util.Map;
import org.springframework.core.env.Environment;

/**
 * The infrastructure the service runs on when no connection setting is given at all. Implementations
 * are registered in {@code META-INF/checkout/embedded-default.factories}, which the demo jar and the
 * class path of {@code spring-boot:run} and the tests carry, and the production jar does not.
 */
public interface EmbeddedDefault {

    String FACTORIES = "META-INF/checkout/embedded-default.factories";

    /** Starts the infrastructure, configured by {@code checkout.embedded.*} settings of the environment. */
    Running start(Environment environment);

    /** Started infrastructure: the Spring Boot settings that point an application at it; closing stops it. */
    interface Running extends AutoCloseable {

        Map<String, Object> springProperties();

        @Override
        void close();
    }
}
