package io.github.checkout.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import me.tongfei.progressbar.ProgressBar;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * The load generator for the service: a plain idempotent producer (acks=all) sends the requests keyed by
 * item id (carts by user id), and a read_committed consumer of the outcome topics sees each outcome once its Kafka
 * transaction has committed. Latency is that moment minus the moment the request was sent, or, at a fixed
 * rate, minus the moment it was due: a generator that falls behind does not hide the delay it caused. In the
 * HOLD scenario the consumer's thread sends each ConfirmReservation the moment it sees the StockReserved of a hold
 * to be confirmed, and the run waits for the ReservationExpired of every hold left to expire after the last end.
 */
final class KafkaLoad {

    /**
     * How the requests are offered: with at most {@code window} undecided at a time (0: all at once), at
     * {@code ratePerSecond} (0: as fast as possible), for at most {@code sendFor} (null: until all are sent).
     */
    record Pacing(int window, int ratePerSecond, Duration sendFor) {
    }

    /** A run that makes no progress for this long is given up, and its checks fail. */
    static final Duration STALL = Duration.ofSeconds(30);

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private KafkaLoad() {
    }

    static Run run(String bootstrapServers, ServiceUnderTest service, Workload workload, Pacing pacing,
                   ProgressBar progress) throws InterruptedException {
        int n = workload.deliveries();
        byte[][] keys = new byte[n][];
        byte[][] values = new byte[n][];
        for (int d = 0; d < n; d++) {
            keys[d] = workload.partitionKey(workload.keyOf(d)).getBytes(StandardCharsets.UTF_8);
            values[d] = workload.json(d);
        }
        Observed observed = new Observed(workload);
        Semaphore window = pacing.window() > 0 ? new Semaphore(pacing.window()) : null;
        AtomicLong lastAck = new AtomicLong();
        AtomicLong errors = new AtomicLong();

        try (var producer = new KafkaProducer<>(producerConfig(bootstrapServers), new ByteArraySerializer(), new ByteArraySerializer());
             var reader = new OutcomeReader(bootstrapServers, service.outcomeTopics(workload.holds()), observed, window, progress)) {
            producer.partitionsFor(service.requestTopic());
            if (workload.holds()) {
                producer.partitionsFor(service.reservationRequestTopic());
                reader.onReserved((key, reservationId) -> producer.send(new ProducerRecord<>(service.reservationRequestTopic(),
                        reservationId.toString().getBytes(StandardCharsets.UTF_8), workload.confirmationJson(key, reservationId)),
                        (metadata, error) -> {
                            if (error != null) {
                                errors.incrementAndGet();
                            }
                        }));
            }
            reader.start();

            long cpuBefore = Probes.machineBusyMillis();
            long first = System.nanoTime();
            long stopAt = pacing.sendFor() == null ? 0 : first + pacing.sendFor().toNanos();
            boolean capped = pacing.sendFor() != null;
            double interval = pacing.ratePerSecond() > 0 ? 1e9 / pacing.ratePerSecond() : 0;
            int sent = 0;
            for (int d = 0; d < n; d++) {
                long start;
                if (interval > 0) {
                    start = first + (long) (d * interval);
                    parkUntil(start);
                } else {
                    start = System.nanoTime();
                }
                if ((capped && start - stopAt >= 0) || (window != null && !acquireBefore(window, capped, stopAt))) {
                    break;
                }
                observed.started(d, interval > 0 ? start : System.nanoTime());
                producer.send(new ProducerRecord<>(service.requestTopic(), keys[d], values[d]), (metadata, error) -> {
                    if (error != null) {
                        errors.incrementAndGet();
                    } else {
                        lastAck.accumulateAndGet(System.nanoTime(), Math::max);
                    }
                });
                if ((++sent & 1023) == 0) {
                    progress.setExtraMessage("sent " + sent);
                }
            }
            producer.flush();
            long sendingEnded = System.nanoTime();
            progress.setExtraMessage("sent " + sent);
            progress.maxHint(sent);
            double offered = sent / Math.max(1e-9, (sendingEnded - first) / 1e9);

            boolean complete = awaitOutcomes(observed, sent - errors.get());
            long cpu = cpuBefore < 0 ? -1 : Probes.machineBusyMillis() - cpuBefore;
            progress.stepTo(observed.seen());
            if (workload.holds()) {
                progress.setExtraMessage("awaiting expiries");
                complete &= awaitExpiries(observed);
            }
            return new Run(observed, sent, first, lastAck.get(), observed.lastSeenNanos(), errors.get(), offered,
                    complete, cpu);
        }
    }

    /** Waits until every delivery is answered; gives up after {@link #STALL} without a new outcome. */
    private static boolean awaitOutcomes(Observed observed, long expected) {
        long lastCount = -1;
        long lastChange = System.nanoTime();
        while (observed.seen() < expected) {
            int seen = observed.seen();
            if (seen != lastCount) {
                lastCount = seen;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > STALL.toNanos()) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        return true;
    }

    /** Waits until every hold left to expire is announced expired; gives up after {@link #STALL} without a new one. */
    private static boolean awaitExpiries(Observed observed) {
        long expected = observed.expiring();
        long lastCount = -1;
        long lastChange = System.nanoTime();
        while (observed.expired() < expected) {
            long expired = observed.expired();
            if (expired != lastCount) {
                lastCount = expired;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > STALL.toNanos()) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        return true;
    }

    private static boolean acquireBefore(Semaphore window, boolean capped, long deadline) throws InterruptedException {
        while (!window.tryAcquire(50, TimeUnit.MILLISECONDS)) {
            if (capped && System.nanoTime() - deadline >= 0) {
                return false;
            }
        }
        return true;
    }

    private static void parkUntil(long nanos) {
        long wait;
        while ((wait = nanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
        }
    }

    static Map<String, Object> producerConfig(String bootstrapServers) {
        return Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024,
                ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024);
    }

    /** Reads the outcome topics from their current end, as a read_committed consumer, on a thread of its own. */
    static final class OutcomeReader implements AutoCloseable {

        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Map<String, Observed.Kind> kinds;
        private final Observed observed;
        private final Semaphore window;
        private final ProgressBar progress;
        private final Thread thread;
        private volatile boolean running = true;
        private BiConsumer<Integer, UUID> onReserved = (key, reservationId) -> { };

        OutcomeReader(String bootstrapServers, Map<String, Observed.Kind> topics, Observed observed,
                      Semaphore window, ProgressBar progress) {
            this.kinds = topics;
            this.observed = observed;
            this.window = window;
            this.progress = progress;
            this.consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics.keySet()) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
            this.thread = new Thread(this::consume, "bench-outcome-reader");
            thread.setDaemon(true);
        }

        /** What to do with a hold to be confirmed once its StockReserved is seen: called with its key number and its id. */
        void onReserved(BiConsumer<Integer, UUID> action) {
            this.onReserved = action;
        }

        void start() {
            thread.start();
        }

        private void consume() {
            while (running) {
                var records = consumer.poll(Duration.ofMillis(20));
                if (records.isEmpty()) {
                    continue;
                }
                long now = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    Observed.Kind kind = kinds.get(record.topic());
                    Parsed parsed = parse(record.value(), kind);
                    int confirmed = observed.confirmationNumber(parsed.key());
                    boolean over = true;
                    if (kind == Observed.Kind.RESERVATION_EXPIRED) {
                        observed.answerExpiry(observed.keyNumber(parsed.key()), now);
                        over = false;
                    } else if (confirmed >= 0 || kind == Observed.Kind.RESERVATION_REJECTED) {
                        observed.answerConfirmation(confirmed, kind, parsed.orderId(), now);
                    } else {
                        int key = observed.keyNumber(parsed.key());
                        over = observed.answerKey(key, kind, kind == Observed.Kind.STOCK_RESERVED ? parsed.reservationId()
                                : parsed.orderId(), now);
                        if (!over) {
                            onReserved.accept(key, parsed.reservationId());
                        }
                    }
                    if (over && window != null) {
                        window.release();
                    }
                }
                progress.stepTo(observed.seen());
            }
        }

        private record Parsed(String key, UUID orderId, UUID reservationId) {
        }

        /** Reads only as far as the idempotency key (and the order id of a created order, the hold's id of a reservation). */
        private static Parsed parse(byte[] value, Observed.Kind kind) {
            String key = null;
            UUID orderId = null;
            UUID reservationId = null;
            try (JsonParser parser = JSON.createParser(value)) {
                JsonToken token;
                while ((token = parser.nextToken()) != null) {
                    if (token != JsonToken.PROPERTY_NAME) {
                        continue;
                    }
                    String name = parser.currentName();
                    parser.nextToken();
                    if ("idempotencyKey".equals(name)) {
                        key = parser.getString();
                    } else if ("orderId".equals(name)) {
                        orderId = UUID.fromString(parser.getString());
                    } else if ("reservationId".equals(name)) {
                        reservationId = UUID.fromString(parser.getString());
                    } else {
                        parser.skipChildren();
                    }
                    if (key != null && (kind != Observed.Kind.ORDER_CREATED || orderId != null)
                            && (kind != Observed.Kind.STOCK_RESERVED || reservationId != null)) {
                        break;
                    }
                }
            }
            return new Parsed(key, orderId, reservationId);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5_000);
            consumer.close();
        }
    }
}
