package io.github.checkout.messaging;

import io.github.checkout.config.CheckoutProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.listener.AfterRollbackProcessor;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.scheduling.concurrent.CustomizableThreadFactory;
import org.springframework.stereotype.Component;

/**
 * Watches every partition the listener containers of this instance are assigned: one that has requests
 * waiting (its consumer group's committed offset is behind the end that a {@code read_committed} reader
 * sees) but whose committed offset has not moved for {@code checkout.stall-after} is stalled. A stall is
 * logged at ERROR when it begins, again every {@link #repeatEvery} while it lasts, and at WARN when the
 * partition moves again; {@link #stalled()} reports the current ones, for a readiness check or a metric.
 *
 * <p>Watched from a thread of its own through the Admin API, never from the consumer threads: those may
 * be blocked in a database call that does not return, or waiting out the back-off between two tries of
 * the same batch. The consumer threads only note each failure, on the after-rollback path.
 */
@Component
public class StallMonitor implements SmartLifecycle {

    /**
     * A partition that has not advanced for {@code checkout.stall-after} although requests wait on it.
     *
     * @param offset the committed offset: the first request not yet decided
     * @param behind how many offsets wait from there to the end a {@code read_committed} reader sees
     * @param since when the partition was first seen waiting at this offset
     * @param lastFailure the last failure of a batch that began at this offset, or null when none was
     *                    seen (a batch that never returns, a consumer that is not polling)
     */
    public record Stall(String listenerId, String groupId, TopicPartition partition, long offset, long behind,
                        Instant since, String lastFailure) {
    }

    private static final Logger log = LoggerFactory.getLogger(StallMonitor.class);
    private static final Duration REPEAT_AT_LEAST_EVERY = Duration.ofMinutes(1);

    private final KafkaListenerEndpointRegistry containers;
    private final KafkaAdmin kafkaAdmin;
    private final Duration stallAfter;
    private final Duration repeatEvery;
    private final Duration checkEvery;
    /** Written by the consumer threads, read by the monitor's thread. */
    private final Map<Watched, Failure> lastFailures = new ConcurrentHashMap<>();
    /** The monitor thread's own. */
    private final Map<Watched, Progress> progress = new HashMap<>();
    private volatile List<Stall> stalled = List.of();
    private ScheduledExecutorService scheduler;
    private Admin admin;

    public StallMonitor(KafkaListenerEndpointRegistry containers, KafkaAdmin kafkaAdmin, CheckoutProperties properties) {
        this.containers = containers;
        this.kafkaAdmin = kafkaAdmin;
        this.stallAfter = properties.stallAfter();
        this.repeatEvery = stallAfter.compareTo(REPEAT_AT_LEAST_EVERY) > 0 ? stallAfter : REPEAT_AT_LEAST_EVERY;
        // Often enough that a stall is seen soon after stall-after, seldom enough to cost the broker nothing.
        long quarter = Math.max(100, stallAfter.toMillis() / 4);
        this.checkEvery = Duration.ofMillis(Math.min(quarter, 5000));
    }

    /** The partitions stalled at the last check, oldest stall first. */
    public List<Stall> stalled() {
        return stalled;
    }

    /**
     * Wraps a container's after-rollback processor so that each failed batch is noted, per partition,
     * with the offset it began at; the stall log names it.
     */
    public <K, V> AfterRollbackProcessor<K, V> notingFailures(AfterRollbackProcessor<K, V> processor) {
        return new AfterRollbackProcessor<>() {
            @Override
            public void process(List<ConsumerRecord<K, V>> records, Consumer<K, V> consumer,
                                MessageListenerContainer container, Exception exception, boolean recoverable,
                                ContainerProperties.EOSMode eosMode) {
                failed(container, records, exception);
                processor.process(records, consumer, container, exception, recoverable, eosMode);
            }

            @Override
            public void processBatch(ConsumerRecords<K, V> records, List<ConsumerRecord<K, V>> recordList,
                                     Consumer<K, V> consumer, MessageListenerContainer container, Exception exception,
                                     boolean recoverable, ContainerProperties.EOSMode eosMode) {
                failed(container, recordList, exception);
                processor.processBatch(records, recordList, consumer, container, exception, recoverable, eosMode);
            }

            @Override
            public void clearThreadState() {
                processor.clearThreadState();
            }

            @Override
            public boolean isProcessInTransaction() {
                return processor.isProcessInTransaction();
            }
        };
    }

    private void failed(MessageListenerContainer container, List<? extends ConsumerRecord<?, ?>> records, Exception exception) {
        Instant now = Instant.now();
        Throwable cause = NestedExceptionUtils.getMostSpecificCause(exception);
        String message = String.valueOf(cause.getMessage()).lines().findFirst().orElse("");
        String description = cause.getClass().getName() + ": " + message;
        Map<TopicPartition, Long> firstOffsets = records.stream().collect(Collectors.toMap(
                r -> new TopicPartition(r.topic(), r.partition()), ConsumerRecord::offset, Math::min));
        firstOffsets.forEach((partition, offset) ->
                lastFailures.put(new Watched(container.getGroupId(), partition), new Failure(offset, now, description)));
    }

    void check() {
        Map<Watched, String> watched;
        try {
            watched = assigned();
        } catch (RuntimeException e) {
            // A rebalance changed an assignment while it was read: the next check reads it again.
            log.debug("Could not read the assigned partitions", e);
            return;
        }
        try {
            Map<Watched, Long> committed = committedOffsets(watched.keySet());
            Map<TopicPartition, Long> ends = offsets(watched.keySet(), OffsetSpec.latest());
            Instant now = Instant.now();
            watched.forEach((partition, listenerId) -> {
                Long offset = committed.get(partition);
                Long end = ends.get(partition.partition());
                if (offset != null && end != null) {
                    observe(listenerId, partition, offset, Math.max(0, end - offset), now);
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            // The broker does not answer. A partition last seen with requests waiting has not been seen to move
            // since, so it ages as if its offsets were read again unchanged: a broker outage stalls it too.
            log.debug("Could not read offsets", e);
            Instant now = Instant.now();
            watched.forEach((partition, listenerId) -> {
                Progress known = progress.get(partition);
                if (known != null && known.behind() > 0) {
                    observe(listenerId, partition, known.offset(), known.behind(), now);
                }
            });
        }
        forgetAllBut(watched.keySet());
        stalled = progress.entrySet().stream()
                .filter(e -> e.getValue().stalledSince() != null)
                .map(e -> stall(e.getKey(), e.getValue()))
                .sorted(Comparator.comparing(Stall::since))
                .toList();
    }

    private void observe(String listenerId, Watched partition, long offset, long behind, Instant now) {
        Progress before = progress.get(partition);
        if (before == null || before.offset() != offset || behind == 0) {
            if (before != null && before.stalledSince() != null) {
                stallFields(log.atWarn(), partition, before.offset())
                        .log("Partition {} ({} listener, group {}) is no longer stalled: {} after {} s at offset {}.",
                                partition.partition(), listenerId, partition.groupId(),
                                behind == 0 ? "caught up at offset " + offset : "advanced to offset " + offset,
                                Duration.between(before.since(), now).toSeconds(), before.offset());
            }
            progress.put(partition, new Progress(listenerId, offset, behind, now, null, null));
            return;
        }
        Progress next = before.behind(behind);
        if (before.stalledSince() == null && !now.isBefore(before.since().plus(stallAfter))) {
            next = next.stalled(before.since(), now);
            logStall(partition, next, now);
        } else if (before.stalledSince() != null && !now.isBefore(before.loggedAt().plus(repeatEvery))) {
            next = next.logged(now);
            logStall(partition, next, now);
        }
        progress.put(partition, next);
    }

    private void logStall(Watched partition, Progress stalledAt, Instant now) {
        Failure failure = relevantFailure(partition, stalledAt.offset());
        stallFields(log.atError(), partition, stalledAt.offset()).addKeyValue("checkout.stall.behind", stalledAt.behind())
                .log("Partition {} ({} listener, group {}) is stalled at offset {}, {} behind the end: it has not advanced"
                        + " for {} s. Last failure: {}",
                partition.partition(), stalledAt.listenerId(), partition.groupId(), stalledAt.offset(), stalledAt.behind(),
                Duration.between(stalledAt.since(), now).toSeconds(),
                failure == null ? "none seen (a batch may hang in a call that does not return)"
                        : failure.description() + " (" + Duration.between(failure.at(), now).toSeconds() + " s ago)");
    }

    /** The partition and the offset it is or was stalled at. */
    private static LoggingEventBuilder stallFields(LoggingEventBuilder line, Watched partition, long offset) {
        return LogFields.at(line, partition.partition().topic(), partition.partition().partition(), offset)
                .addKeyValue(LogFields.CONSUMER_GROUP, partition.groupId());
    }

    private Stall stall(Watched partition, Progress p) {
        Failure failure = relevantFailure(partition, p.offset());
        return new Stall(p.listenerId(), partition.groupId(), partition.partition(), p.offset(), p.behind(),
                p.stalledSince(), failure == null ? null : failure.description());
    }

    /** The last failure of a batch that began at the stalled offset; an older one belongs to a batch long decided. */
    private Failure relevantFailure(Watched partition, long offset) {
        Failure failure = lastFailures.get(partition);
        return failure != null && failure.offset() == offset ? failure : null;
    }

    private void forgetAllBut(Set<Watched> watched) {
        progress.entrySet().removeIf(e -> {
            boolean gone = !watched.contains(e.getKey());
            if (gone && e.getValue().stalledSince() != null) {
                log.info("Partition {} (group {}), stalled at offset {}, is no longer assigned to this instance.",
                        e.getKey().partition(), e.getKey().groupId(), e.getValue().offset());
            }
            return gone;
        });
        lastFailures.keySet().retainAll(watched);
    }

    /** The partitions assigned to the running listener containers of this instance, with the listener's id. */
    private Map<Watched, String> assigned() {
        Map<Watched, String> assigned = new HashMap<>();
        for (MessageListenerContainer container : containers.getListenerContainers()) {
            if (container.isRunning()) {
                Collection<TopicPartition> partitions = container.getAssignedPartitions();
                if (partitions != null) {
                    for (TopicPartition partition : List.copyOf(partitions)) {
                        assigned.put(new Watched(container.getGroupId(), partition), container.getListenerId());
                    }
                }
            }
        }
        return assigned;
    }

    /** Each group's committed offset; where a group has committed none yet, the partition's first offset. */
    private Map<Watched, Long> committedOffsets(Set<Watched> watched) throws Exception {
        if (watched.isEmpty()) {
            return Map.of();
        }
        Map<String, ListConsumerGroupOffsetsSpec> groups = new HashMap<>();
        watched.stream().collect(Collectors.groupingBy(Watched::groupId,
                        Collectors.mapping(Watched::partition, Collectors.toList())))
                .forEach((group, partitions) -> groups.put(group, new ListConsumerGroupOffsetsSpec().topicPartitions(partitions)));
        Map<String, Map<TopicPartition, OffsetAndMetadata>> byGroup =
                admin().listConsumerGroupOffsets(groups).all().get(timeout(), TimeUnit.MILLISECONDS);
        Map<Watched, Long> committed = new HashMap<>();
        Set<Watched> none = new HashSet<>();
        for (Watched partition : watched) {
            OffsetAndMetadata offset = byGroup.getOrDefault(partition.groupId(), Map.of()).get(partition.partition());
            if (offset == null) {
                none.add(partition);
            } else {
                committed.put(partition, offset.offset());
            }
        }
        if (!none.isEmpty()) {
            Map<TopicPartition, Long> first = offsets(none, OffsetSpec.earliest());
            none.forEach(partition -> committed.put(partition, first.get(partition.partition())));
        }
        return committed;
    }

    private Map<TopicPartition, Long> offsets(Set<Watched> watched, OffsetSpec spec) throws Exception {
        if (watched.isEmpty()) {
            return Map.of();
        }
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        watched.forEach(partition -> request.put(partition.partition(), spec));
        // The listeners read read_committed: an open transaction's records are not waiting yet.
        Map<TopicPartition, ListOffsetsResultInfo> result = admin()
                .listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                .all().get(timeout(), TimeUnit.MILLISECONDS);
        Map<TopicPartition, Long> offsets = new HashMap<>();
        result.forEach((partition, info) -> offsets.put(partition, info.offset()));
        return offsets;
    }

    private long timeout() {
        return TimeUnit.SECONDS.toMillis(kafkaAdmin.getOperationTimeout());
    }

    /** Created at the first check that has partitions to watch: an instance with no listener running needs no broker. */
    private Admin admin() {
        if (admin == null) {
            admin = Admin.create(kafkaAdmin.getConfigurationProperties());
        }
        return admin;
    }

    @Override
    public synchronized void start() {
        if (scheduler == null) {
            CustomizableThreadFactory threads = new CustomizableThreadFactory("stall-monitor-");
            threads.setDaemon(true);
            scheduler = Executors.newSingleThreadScheduledExecutor(threads);
            scheduler.scheduleWithFixedDelay(this::check, checkEvery.toMillis(), checkEvery.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public synchronized void stop() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            try {
                scheduler.awaitTermination(timeout(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            scheduler = null;
            if (admin != null) {
                admin.close(Duration.ofSeconds(1));
                admin = null;
            }
            stalled = List.of();
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return scheduler != null;
    }

    /** One partition as one consumer group reads it. */
    private record Watched(String groupId, TopicPartition partition) {
    }

    private record Failure(long offset, Instant at, String description) {
    }

    /**
     * Where a partition was last seen: its committed offset, how far behind, since when at that offset,
     * and once stalled, since when and when last logged.
     */
    private record Progress(String listenerId, long offset, long behind, Instant since, Instant stalledSince,
                            Instant loggedAt) {

        Progress behind(long newBehind) {
            return new Progress(listenerId, offset, newBehind, since, stalledSince, loggedAt);
        }

        Progress stalled(Instant from, Instant at) {
            return new Progress(listenerId, offset, behind, since, from, at);
        }

        Progress logged(Instant at) {
            return new Progress(listenerId, offset, behind, since, stalledSince, at);
        }
    }
}
