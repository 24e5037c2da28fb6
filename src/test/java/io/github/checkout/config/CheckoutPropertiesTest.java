package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class CheckoutPropertiesTest {

    private static final Validator validator = Validation.buildDefaultValidatorFactory().getValidator();

    @Test
    void unsetConcurrency_isOneThreadPerPartition_atMostTwoPerProcessor() {
        assertThat(CheckoutProperties.consumerThreads(null, 4, 1)).isEqualTo(2);
        assertThat(CheckoutProperties.consumerThreads(null, 4, 2)).isEqualTo(4);
        assertThat(CheckoutProperties.consumerThreads(null, 4, 3)).isEqualTo(4);
        assertThat(CheckoutProperties.consumerThreads(null, 4, 64)).isEqualTo(4);
        assertThat(CheckoutProperties.consumerThreads(null, 12, 4)).isEqualTo(8);
        assertThat(CheckoutProperties.consumerThreads(null, 48, 2)).isEqualTo(4);
        assertThat(CheckoutProperties.consumerThreads(null, 1, 16)).isEqualTo(1);
    }

    @Test
    void aConfiguredConcurrency_winsOverProcessorsAndPartitions() {
        assertThat(CheckoutProperties.consumerThreads(3, 4, 2)).isEqualTo(3);
        assertThat(CheckoutProperties.consumerThreads(8, 4, 64)).isEqualTo(8);
        assertThat(bind(Map.of("checkout.concurrency", 3)).consumerThreads()).isEqualTo(3);
    }

    @Test
    void unconfigured_concurrencyIsSizedOnThisMachine_andBatchesHold2000Requests() {
        CheckoutProperties defaults = bind(Map.of());
        assertThat(defaults.concurrency()).isNull();
        assertThat(defaults.consumerThreads())
                .isEqualTo(Math.min(4, 2 * Runtime.getRuntime().availableProcessors()));
        assertThat(defaults.batch().maxRecords()).isEqualTo(2000);
        assertThat(validator.validate(defaults)).isEmpty();
    }

    @Test
    void aConfiguredConcurrency_staysWithinItsBounds() {
        assertThat(validator.validate(bind(Map.of("checkout.concurrency", 0)))).hasSize(1);
        assertThat(validator.validate(bind(Map.of("checkout.concurrency", 65)))).hasSize(1);
        assertThat(validator.validate(bind(Map.of("checkout.concurrency", 64)))).isEmpty();
    }

    private static CheckoutProperties bind(Map<String, Object> settings) {
        return new Binder(new MapConfigurationPropertySource(settings)).bindOrCreate("checkout", CheckoutProperties.class);
    }
}
