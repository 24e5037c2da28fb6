package io.github.checkout.purchase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.ServiceProcess;
import io.github.checkout.support.ServiceProcess.Lane;
import io.github.checkout.support.ServiceProcess.Outcomes;
import io.github.checkout.support.ServiceProcess.Seen;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Two running instances given the same {@code checkout.instance-id}: the one that joins later takes the
 * id over, and the earlier one exits with a message that says why, instead of both fencing each other
 * in turn while they look alive.
 */
class SameInstanceIdIT extends IntegrationTestSupport {

    private static final int PARTITIONS = 2;
    private static final String STARTED = "Started CheckoutApplication";

    @Test
    void aSecondInstanceWithTheSameId_makesTheFirstExitNonZeroWithAClearMessage() throws Exception {
        Lane lane = Lane.random("same-id", PARTITIONS).create();
        UUID item = newItem(1_000);
        try (ServiceProcess first = ServiceProcess.onTestInfrastructure(lane, lane.log("first"),
                     "--checkout.instance-id=checkout-0", "--checkout.concurrency=1").start();
             ServiceProcess second = ServiceProcess.onTestInfrastructure(lane, lane.log("second"),
                     "--checkout.instance-id=checkout-0", "--checkout.concurrency=1");
             Outcomes outcomes = new Outcomes(lane)) {
            first.awaitOutput(STARTED, 1, Duration.ofSeconds(90));
            sendRequest(lane, item, "before");
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(outcomes.seen()).extracting(Seen::idempotencyKey).contains(lane.prefix() + "-before"));

            second.start();

            assertThat(first.waitFor(Duration.ofSeconds(90))).as("the first instance exits:%n%s", first.output()).isTrue();
            assertThat(first.exitValue()).isEqualTo(1);
            assertThat(first.output()).contains("FENCED: another process took over this instance's id (checkout.instance-id)");
            sendRequest(lane, item, "after");
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(outcomes.seen()).extracting(Seen::idempotencyKey).contains(lane.prefix() + "-after"));
            assertThat(second.isAlive()).as("the second instance runs on:%n%s", second.output()).isTrue();
        }
    }

    private static void sendRequest(Lane lane, UUID item, String key) {
        send(new ProducerRecord<>(lane.purchaseRequests(), item.toString(),
                json(lane.prefix() + "-" + key, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
    }
}
