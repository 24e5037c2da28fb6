package io.github.checkout.messaging;

import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.SmartApplicationListener;
import org.springframework.kafka.event.ConcurrentContainerStoppedEvent;
import org.springframework.kafka.event.ConsumerFailedToStartEvent;
import org.springframework.kafka.event.ConsumerStoppedEvent;
import org.springframework.kafka.listener.MessageListenerContainer;

/**
 * Ends the service with exit status 1 when a listener container's consumer stops for good for any
 * reason but a normal stop: Kafka refused its credentials or its rights, another instance fenced its
 * id, an {@link Error}, no offset and no reset policy, or a consumer that never started. Without this
 * the service would run on deaf, or, once every consumer thread has ended, the JVM would exit with
 * status 0 as if all were well. An orchestrator sees the failure and the one ERROR line says why.
 * Registered on the {@link SpringApplication} by {@code main}: it is a decision for the process, not
 * for a context a test starts.
 */
public final class ExitOnFatalConsumerStop implements SmartApplicationListener {

    static final int EXIT_STATUS = 1;
    private static final Logger log = LoggerFactory.getLogger(ExitOnFatalConsumerStop.class);

    /** Why a consumer stopped, most telling first: a consumer stopped because its sibling failed says least. */
    private enum Cause {
        AUTH("Kafka refused its credentials or its rights; check the spring.kafka security settings (user,"
                + " password, SASL mechanism, TLS) and the ACLs of its topics and consumer group"),
        FENCED("another process took over this instance's id (checkout.instance-id), so the broker fenced its"
                + " consumers and producers; two running instances must never share an id, or they fence each"
                + " other in turn"),
        ERROR("a fatal error (java.lang.Error) ended its consumer thread; see the stack trace above"),
        NO_OFFSET("its consumer group has no committed offset for a partition and no reset policy"),
        FAILED_TO_START("its consumer thread did not start"),
        ABNORMAL("its error handling stopped it; see the errors above");

        final String why;

        Cause(String why) {
            this.why = why;
        }
    }

    private record Stop(String listenerId, String groupId, Cause cause) {
    }

    private final Map<String, Stop> stops = new ConcurrentHashMap<>();
    private final CountDownLatch containerStopped = new CountDownLatch(1);
    private final AtomicBoolean exiting = new AtomicBoolean();
    private volatile ConfigurableApplicationContext context;

    @Override
    public boolean supportsEventType(Class<? extends ApplicationEvent> eventType) {
        return ApplicationPreparedEvent.class.isAssignableFrom(eventType)
                || ConsumerStoppedEvent.class.isAssignableFrom(eventType)
                || ConcurrentContainerStoppedEvent.class.isAssignableFrom(eventType)
                || ConsumerFailedToStartEvent.class.isAssignableFrom(eventType);
    }

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        if (event instanceof ApplicationPreparedEvent prepared) {
            context = prepared.getApplicationContext();
        } else if (event instanceof ConsumerStoppedEvent stopped && stopped.getReason() != ConsumerStoppedEvent.Reason.NORMAL) {
            stopped(stopped.getContainer(MessageListenerContainer.class), Cause.valueOf(stopped.getReason().name()));
        } else if (event instanceof ConsumerFailedToStartEvent failed) {
            stopped(failed.getContainer(MessageListenerContainer.class), Cause.FAILED_TO_START);
        } else if (event instanceof ConcurrentContainerStoppedEvent && exiting.get()) {
            containerStopped.countDown();
        }
    }

    private void stopped(MessageListenerContainer container, Cause cause) {
        stops.merge(container.getListenerId(), new Stop(container.getListenerId(), container.getGroupId(), cause),
                (before, now) -> now.cause().compareTo(before.cause()) < 0 ? now : before);
        ConfigurableApplicationContext running = context;
        // Once; and never while the context is closing anyway, when a stop is expected and System.exit
        // would wait on the shutdown hook that is closing it.
        if (running == null || !running.isActive() || running.isClosed() || !exiting.compareAndSet(false, true)) {
            return;
        }
        long wait = container.getContainerProperties().getShutdownTimeout();
        // Not on the consumer thread that published the event: closing the context waits for that thread.
        Thread exit = new Thread(() -> exit(running, wait), "exit-on-fatal-consumer-stop");
        exit.start();
    }

    private void exit(ConfigurableApplicationContext running, long wait) {
        // A failing consumer stops its siblings, which report a mere ABNORMAL stop, sometimes before it reports
        // its own reason: wait until the container's consumers have all stopped, then name the most telling.
        try {
            containerStopped.await(wait, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Stop stop = stops.values().stream().min(Comparator.comparing(Stop::cause)).orElseThrow();
        log.atError().addKeyValue(LogFields.CONSUMER_GROUP, stop.groupId())
                .log("Kafka listener {} (group {}) stopped for good, {}: {}. The service cannot decide its requests"
                        + " without it and exits with status {}.",
                stop.listenerId(), stop.groupId(), stop.cause(), stop.cause().why, EXIT_STATUS);
        System.exit(SpringApplication.exit(running, () -> EXIT_STATUS));
    }
}
