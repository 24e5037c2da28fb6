package io.github.checkout.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * A test of the whole service against the shared real Kafka and PostgreSQL of {@link TestInfrastructure}.
 * Test classes extend {@link IntegrationTestSupport}, which registers the infrastructure's settings.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(properties = "checkout.demo.enabled=false")
public @interface IntegrationTest {
}
