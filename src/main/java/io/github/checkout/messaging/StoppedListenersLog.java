package io.github.checkout.messaging;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.event.ConcurrentContainerStoppedEvent;
import org.springframework.kafka.event.ConsumerStoppedEvent;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.stereotype.Component;

/**
 * Logs each listener whose consumers all stopped normally, as on a shutdown. A consumer thread stops only
 * between two batches: its last one committed, or rolled back to be delivered again. Then its consumer
 * closed and left the group.
 */
@Component
class StoppedListenersLog {

    private static final Logger log = LoggerFactory.getLogger(StoppedListenersLog.class);

    @EventListener
    void stopped(ConcurrentContainerStoppedEvent event) {
        if (event.getReason() == ConsumerStoppedEvent.Reason.NORMAL) {
            MessageListenerContainer container = event.getContainer(MessageListenerContainer.class);
            log.info("Listener {} (group {}) stopped: no batch in flight, the last one committed or rolled back;"
                    + " its consumers left the group.", container.getListenerId(), container.getGroupId());
        }
    }
}
