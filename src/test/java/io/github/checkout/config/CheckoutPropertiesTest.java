package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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

    @Test
    void holds_defaultToTheContractsValues() {
        CheckoutProperties.Holds holds = bind(Map.of()).holds();
        assertThat(holds).isEqualTo(new CheckoutProperties.Holds(Duration.ofMinutes(15), Duration.ofHours(1), Duration.ofSeconds(1),
                1000, Duration.ofSeconds(30)));
        assertThat(bind(Map.of()).groups().reservations()).isEqualTo("order-processor-reservations");
        assertThat(bind(Map.of()).topics().reservationRequestsDeadLetter()).isEqualTo("reservation-requests.DLT");
    }

    @ParameterizedTest(name = "{0}={1}: {2} violation(s)")
    @CsvSource(delimiter = '|', textBlock = """
            max-duration   | PT0S   | 1
            max-duration   | PT-1M  | 1
            max-duration   | PT1H   | 0
            max-duration   | PT2H   | 1
            max-lifetime   | PT14M  | 1
            max-lifetime   | PT15M  | 0
            sweep-interval | PT0.009S | 1
            sweep-interval | PT0.01S  | 0
            sweep-batch    | 0      | 1
            sweep-batch    | 10000  | 0
            sweep-batch    | 10001  | 1
            resend-after   | PT0.999S | 1
            resend-after   | PT1S   | 0
            """)
    void holds_outOfTheirBounds_failValidation(String setting, String value, int violations) {
        assertThat(validator.validate(bind(Map.of("checkout.holds." + setting, value)))).as(setting + "=" + value).hasSize(violations);
    }

    private static CheckoutProperties bind(Map<String, Object> settings) {
        return new Binder(new MapConfigurationPropertySource(settings)).bindOrCreate("checkout", CheckoutProperties.class);
    }
}
