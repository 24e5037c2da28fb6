package io.github.checkout.messaging;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.SmartApplicationListener;
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

    private final AtomicBoolean exiting = new AtomicBoolean();
    private volatile ConfigurableApplicationContext context;

    @Override
    public boolean supportsEventType(Class<? extends ApplicationEvent> eventType) {
        return ApplicationPreparedEvent.class.isAssignableFrom(eventType)
                || ConsumerStoppedEvent.class.isAssignableFrom(eventType)
                || ConsumerFailedToStartEvent.class.isAssignableFrom(eventType);
    }

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        if (event instanceof ApplicationPreparedEvent prepared) {
            context = prepared.getApplicationContext();
        } else if (event instanceof ConsumerStoppedEvent stopped && stopped.getReason() != ConsumerStoppedEvent.Reason.NORMAL) {
            exit(stopped.getContainer(MessageListenerContainer.class), stopped.getReason().name(), why(stopped.getReason()));
        } else if (event instanceof ConsumerFailedToStartEvent failed) {
            exit(failed.getContainer(MessageListenerContainer.class), "FAILED_TO_START",
                    "its consumer thread did not start (no thread free in the container's executor)");
        }
    }

    private void exit(MessageListenerContainer container, String reason, String why) {
        ConfigurableApplicationContext running = context;
        // Once: every consumer thread of a container reports the same stop. Never while the context is
        // closing anyway, when a stop is expected and System.exit would wait on the shutdown hook.
        if (running == null || !running.isActive() || running.isClosed() || !exiting.compareAndSet(false, true)) {
            return;
        }
        log.error("Kafka listener {} (group {}) stopped for good, {}: {}. The service cannot decide its requests"
                        + " without it and exits with status {}.",
                container.getListenerId(), container.getGroupId(), reason, why, EXIT_STATUS);
        // Not on the consumer thread that published the event: closing the context waits for that thread to end.
        Thread exit = new Thread(() -> System.exit(SpringApplication.exit(running, () -> EXIT_STATUS)),
                "exit-on-fatal-consumer-stop");
        exit.start();
    }

    private static String why(ConsumerStoppedEvent.Reason reason) {
        return switch (reason) {
            case AUTH -> "Kafka refused its credentials or its rights; check the spring.kafka security settings"
                    + " (user, password, SASL mechanism, TLS) and the ACLs of the topics and the consumer group";
            case FENCED -> "another instance with the same group.instance.id or transactional id fenced it;"
                    + " give each instance its own id";
            case ERROR -> "a fatal error (java.lang.Error) ended its consumer thread; see the stack trace above";
            case NO_OFFSET -> "its consumer group has no committed offset for a partition and no reset policy";
            case ABNORMAL -> "its error handling stopped it; see the errors above";
            case NORMAL -> "it was stopped";
        };
    }
}
