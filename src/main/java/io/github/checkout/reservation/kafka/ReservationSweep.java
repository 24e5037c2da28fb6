package io.github.checkout.reservation.kafka;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.reservation.ReservationGateway;
import io.github.checkout.reservation.ReservationRequested;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.scheduling.annotation.EnableScheduling;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every {@code checkout.holds.sweep-interval}: expires the holds whose time is up, in a database transaction of its
 * own, and once that committed sends an ExpireReservation for each hold the database hands out, in a Kafka
 * transaction of its own. The listener then announces each expiry exactly once. A hold whose expiry was sent but
 * got lost (the broker down, a crash between the two transactions) is handed out again after
 * {@code checkout.holds.resend-after}. A failed sweep is logged and tried again at the next tick. Several
 * instances sweep side by side: the database hands each expired hold to one of them. Not in the operator
 * commands' mode.
 */
@Component
@EnableScheduling
@ConditionalOnBooleanProperty(name = "spring.kafka.listener.auto-startup", matchIfMissing = true)
class ReservationSweep implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(ReservationSweep.class);

    private final ReservationGateway gateway;
    private final KafkaTemplate<byte[], byte[]> kafka;
    private final JsonMapper json;
    private final CheckoutProperties.Holds holds;
    private final String topic;
    private final Timer succeeded;
    private final Timer failed;
    private final Counter sent;
    private boolean failing;

    ReservationSweep(ReservationGateway gateway, KafkaTemplate<byte[], byte[]> kafka, JsonMapper json,
                     CheckoutProperties properties, MeterRegistry registry) {
        this.gateway = gateway;
        this.kafka = kafka;
        this.json = json;
        this.holds = properties.holds();
        this.topic = properties.topics().reservationRequests();
        this.succeeded = sweeps(registry, "ok");
        this.failed = sweeps(registry, "failed");
        this.sent = Counter.builder("checkout.holds.expired")
                .description("Expired holds whose ExpireReservation this instance's sweep sent (a resent one again)")
                .register(registry);
    }

    private static Timer sweeps(MeterRegistry registry, String result) {
        return Timer.builder("checkout.holds.sweeps")
                .description("Sweeps of expired holds: the database call and the sending of their expiries")
                .tag("result", result)
                .register(registry);
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar tasks) {
        tasks.addFixedDelayTask(this::sweep, holds.sweepInterval());
    }

    /** One sweep; never throws. */
    void sweep() {
        long started = System.nanoTime();
        try {
            List<UUID> expired;
            do { // a full batch: there may be more at once, not a tick later
                expired = gateway.sweep(holds.sweepBatch(), holds.resendAfter());
                if (!expired.isEmpty()) {
                    List<UUID> batch = expired;
                    kafka.executeInTransaction(operations -> {
                        batch.forEach(id -> operations.send(expiry(id)));
                        return null;
                    });
                    sent.increment(expired.size());
                }
            } while (expired.size() == holds.sweepBatch());
            succeeded.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            if (failing) {
                failing = false;
                log.info("Sweeping expired holds works again");
            }
        } catch (RuntimeException e) {
            failed.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            if (!failing) {
                failing = true;
                log.warn("Sweeping expired holds failed ({}); tried again every {} until it works", e.toString(),
                        holds.sweepInterval(), e);
            } else {
                log.debug("Sweeping expired holds failed again ({})", e.toString());
            }
        }
    }

    /** The ExpireReservation of one hold, keyed by its id, as any reservation request. */
    ProducerRecord<byte[], byte[]> expiry(UUID reservationId) {
        byte[] value = json.writeValueAsBytes(Map.of("type", ReservationRequested.Type.EXPIRE.wire(),
                "reservationId", reservationId.toString()));
        return new ProducerRecord<>(topic, reservationId.toString().getBytes(StandardCharsets.UTF_8), value);
    }
}
