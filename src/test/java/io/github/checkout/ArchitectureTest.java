package io.github.checkout;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The purchase and refund cores know neither Kafka nor JDBC: adapters depend on them, never the other way round. */
@AnalyzeClasses(packages = "io.github.checkout", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule coreImportsNoKafkaOrJdbc = noClasses()
            .that().resideInAnyPackage("io.github.checkout.purchase", "io.github.checkout.refund")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "org.apache.kafka..", "org.springframework.kafka..", "org.springframework.jdbc..", "java.sql..",
                    "io.github.checkout.messaging..", "io.github.checkout.purchase.kafka..", "io.github.checkout.purchase.jdbc..",
                    "io.github.checkout.refund.kafka..", "io.github.checkout.refund.jdbc..");
}
