package io.github.checkout.config;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.event.ConsumerStoppedEvent;
import org.springframework.stereotype.Component;

/**
 * Ends the process with exit status {@value #STATUS} when a consumer or producer of this instance is
 * fenced: another process has joined with the same instance id, so its group membership or its
 * transactional ids were taken over. Two instances must never share an id; carrying on would make them
 * fence each other in turn, each rolling back the other's work, while both look alive.
 */
@Component
class ExitWhenFenced implements ApplicationListener<ConsumerStoppedEvent> {

    static final int STATUS = 3;
    private static final Logger log = LoggerFactory.getLogger(ExitWhenFenced.class);

    private final ConfigurableApplicationContext context;
    private final InstanceId instanceId;
    private final AtomicBoolean exiting = new AtomicBoolean();

    ExitWhenFenced(ConfigurableApplicationContext context, InstanceId instanceId) {
        this.context = context;
        this.instanceId = instanceId;
    }

    @Override
    public void onApplicationEvent(ConsumerStoppedEvent event) {
        if (event.getReason() == ConsumerStoppedEvent.Reason.FENCED && exiting.compareAndSet(false, true)) {
            log.error("Instance id {} was taken over by another process (consumer {} fenced). Two running instances must"
                    + " never share checkout.instance-id; this one exits with status {}.", instanceId, event.getSource(), STATUS);
            // Not on the consumer thread: closing the context waits for that thread to end.
            new Thread(() -> System.exit(SpringApplication.exit(context, () -> STATUS)), "exit-when-fenced").start();
        }
    }
}
