package io.github.checkout.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command, as a newcomer runs it: the packaged jar, with nothing configured, starts
 * its own broker and database and runs the last-item race. Runs the jar rather than the test classpath,
 * so a dependency the embedded broker needs at run time cannot be missing unnoticed.
 */
class LastItemRaceJarIT {

    @Test
    void theJarOnItsEmbeddedDefault_sellsTheLastItemOnce(@TempDir Path dir) throws Exception {
        Path jar = Path.of("target", "oversell-proof-checkout.jar");
        assertThat(jar).exists();
        Path output = dir.resolve("output.txt");
        ProcessBuilder builder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(), "--buyers=50")
                .redirectErrorStream(true).redirectOutput(output.toFile());
        for (String setting : new String[] {"SPRING_KAFKA_BOOTSTRAP_SERVERS", "SPRING_DATASOURCE_URL",
                "SPRING_DATASOURCE_USERNAME", "SPRING_DATASOURCE_PASSWORD"}) {
            builder.environment().remove(setting);
        }
        builder.directory(new File("."));
        Process run = builder.start();
        boolean ended = run.waitFor(3, TimeUnit.MINUTES);
        if (!ended) {
            run.destroyForcibly();
        }
        String printed = Files.readString(output, StandardCharsets.UTF_8);

        assertThat(ended).as("the run ended within 3 minutes:%n%s", printed).isTrue();
        assertThat(run.exitValue()).as(printed).isZero();
        assertThat(printed).containsPattern("Buyers +50").containsPattern("Orders created +1\\b")
                .containsPattern("Out of stock +49").containsPattern("Undecided +0").containsPattern("Oversold +0");
    }
}
