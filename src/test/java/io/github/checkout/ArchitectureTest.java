package io.github.checkout;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The purchase, refund and reservation cores, and the request package they share, know neither Kafka nor JDBC: adapters
 * depend on them, never the other way round. The service knows neither the embedded default nor the demo.
 */
class ArchitectureTest {

    private static final String[] CORES = {
        "io.github.checkout.purchase", "io.github.checkout.refund", "io.github.checkout.reservation", "io.github.checkout.request"};
    private static final String EMBEDDED = "io.github.checkout.embedded..";
    private static final String DEMO = "io.github.checkout.demo..";

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.github.checkout");

    @Test
    void coresImportNoKafkaNoJdbcAndNoAdapter() {
        for (String core : CORES) {
            assertThat(classes.stream().filter(c -> c.getPackageName().equals(core))).as(core).isNotEmpty();
        }
        noClasses().that().resideInAnyPackage(CORES)
                .should().dependOnClassesThat().resideInAnyPackage(
                        "org.apache.kafka..", "org.springframework.kafka..", "org.springframework.jdbc..", "java.sql..",
                        "io.github.checkout.messaging..", "io.github.checkout.purchase.kafka..", "io.github.checkout.purchase.jdbc..",
                        "io.github.checkout.refund.kafka..", "io.github.checkout.refund.jdbc..",
                        "io.github.checkout.reservation.kafka..", "io.github.checkout.reservation.jdbc..")
                .check(classes);
    }

    /** The production jar leaves the embedded default and the demo out (README, "Two jars"): nothing else may need them. */
    @Test
    void onlyTheDemoKnowsTheEmbeddedDefault() {
        noClasses().that().resideOutsideOfPackages(EMBEDDED, DEMO)
                .should().dependOnClassesThat().resideInAnyPackage(EMBEDDED, DEMO)
                .check(classes);
    }
}
