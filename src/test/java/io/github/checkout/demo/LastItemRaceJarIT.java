package io.github.checkout.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.ServiceProcess;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command, as a newcomer runs it: the packaged demo jar, with nothing configured, starts
 * its own broker and database and runs the last-item race. Runs the jar rather than the test classpath,
 * so a dependency the embedded broker needs at run time cannot be missing unnoticed.
 */
class LastItemRaceJarIT {

    @Test
    void theJarOnItsEmbeddedDefault_sellsTheLastItemOnce(@TempDir Path dir) throws Exception {
        try (ServiceProcess run = ServiceProcess.onItsEmbeddedDefault(dir.resolve("output.txt"), "--buyers=50").start()) {
            boolean ended = run.waitFor(Duration.ofMinutes(3));
            String printed = run.output();

            assertThat(ended).as("the run ended within 3 minutes:%n%s", printed).isTrue();
            assertThat(run.exitValue()).as(printed).isZero();
            assertThat(printed).containsPattern("Buyers +50").containsPattern("Orders created +1\\b")
                    .containsPattern("Out of stock +49").containsPattern("Undecided +0").containsPattern("Oversold +0");
        }
    }
}
