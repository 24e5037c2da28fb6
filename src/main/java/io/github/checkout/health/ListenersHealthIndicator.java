package io.github.checkout.health;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.TopicPartition;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.stereotype.Component;

/**
 * {@code listeners}: every listener container runs, each of its consumer threads included. Details name
 * each listener with its group, its running threads and the partitions it is assigned.
 */
@Component
class ListenersHealthIndicator implements HealthIndicator {

    private final KafkaListenerEndpointRegistry containers;

    ListenersHealthIndicator(KafkaListenerEndpointRegistry containers) {
        this.containers = containers;
    }

    @Override
    public Health health() {
        Map<String, Object> listeners = new TreeMap<>();
        boolean allRunning = true;
        for (MessageListenerContainer container : containers.getListenerContainers()) {
            int threads = 1;
            int running = container.isRunning() ? 1 : 0;
            if (container instanceof ConcurrentMessageListenerContainer<?, ?> concurrent) {
                threads = concurrent.getConcurrency();
                running = !container.isRunning() ? 0
                        : (int) concurrent.getContainers().stream().filter(MessageListenerContainer::isRunning).count();
            }
            allRunning &= running == threads;
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("running", running == threads);
            details.put("group", container.getGroupId());
            details.put("consumerThreadsRunning", running + " of " + threads);
            details.put("assignedPartitions", assignedPartitions(container));
            listeners.put(container.getListenerId(), details);
        }
        return (allRunning ? Health.up() : Health.down()).withDetails(listeners).build();
    }

    private static Object assignedPartitions(MessageListenerContainer container) {
        try {
            Collection<TopicPartition> assigned = container.getAssignedPartitions();
            return assigned == null ? List.of() : assigned.stream().map(TopicPartition::toString).sorted().toList();
        } catch (RuntimeException e) {
            // The consumer thread changes its assignment in a rebalance while it is read; a probe must not fail on it.
            return "changing (a rebalance)";
        }
    }
}
