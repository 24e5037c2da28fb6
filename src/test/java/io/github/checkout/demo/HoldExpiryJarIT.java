package io.github.checkout.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.ServiceProcess;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's {@code --hold} as a newcomer runs it, on the packaged demo jar's embedded default: a hold on the last
 * unit expires, the next buyer gets the unit, the expiry is announced and the late confirmation is refused.
 */
class HoldExpiryJarIT {

    @Test
    void theLastUnitsHoldExpires_andTheNextBuyerGetsIt(@TempDir Path dir) throws Exception {
        try (ServiceProcess run = ServiceProcess.onItsEmbeddedDefault(dir.resolve("output.txt"), "--hold").start()) {
            boolean ended = run.waitFor(Duration.ofMinutes(3));
            String printed = run.output();

            assertThat(ended).as("the run ended within 3 minutes:%n%s", printed).isTrue();
            assertThat(run.exitValue()).as(printed).isZero();
            assertThat(printed).contains("Buyer A holds the last unit until")
                    .containsPattern("Buyer B taps \"Buy\": out of stock, 0 available")
                    .containsPattern("Buyer B taps again: order [0-9a-f-]{36}, stock 0")
                    .contains("ReservationExpired announced for A's hold")
                    .contains("rejected, reservation_expired")
                    .containsPattern("Orders created +1\\b").containsPattern("Final stock +0\\b")
                    .containsPattern("Held +0\\b").containsPattern("Oversold +0\\b");
        }
    }
}
