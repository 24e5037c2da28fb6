package io.github.checkout.messaging;

import static io.github.checkout.messaging.EventPublisher.utf8;

import io.github.checkout.config.CheckoutProperties;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Sends a message that cannot be decided to a dead-letter topic with its original key, value and headers,
 * plus headers that say why ({@code dlt-reason}: oversized, malformed_json, schema_violation,
 * unrepresentable or undecidable; {@code dlt-error}: the detail) and where it came from. Part of the
 * listener's Kafka transaction, like the outcomes. Incoming {@code dlt-*} headers are replaced by these.
 *
 * <p>Any record the broker accepted can be dead-lettered. The whole record goes first. A copy cut to fit
 * goes instead when the producer could not send the whole one, or when the dead-letter topic refused it
 * (its {@code max.message.bytes}): such a refusal dooms the transaction, so {@link #send} throws
 * {@link Refused}, the batch rolls back and comes again, and this time the record's copy is cut. A cut
 * copy carries {@code dlt-truncated: true}, the size and SHA-256 of the original value, and the names of
 * original headers left out; refused again, it is cut further, down to a few kilobytes, which any topic
 * takes. The original stays on its input topic, at the offset the headers give.
 */
@Component
public class DeadLetters {

    public static final String REASON = "dlt-reason";
    public static final String ERROR = "dlt-error";
    public static final String TRUNCATED = "dlt-truncated";
    public static final String ORIGINAL_SIZE = "dlt-original-size";
    public static final String ORIGINAL_SHA256 = "dlt-original-sha256";
    public static final String DROPPED_HEADERS = "dlt-dropped-headers";
    public static final String DROPPED_KEY = "dlt-dropped-key";

    private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);
    private static final String OURS = "dlt-";
    /** The first cut fits a topic that keeps the broker's default max.message.bytes (1 MiB), the common case. */
    static final int FIRST_CUT = 1_000_000;
    /** The last cut keeps a short dlt-error and little else beside the dlt-* headers: any topic takes it. */
    static final int LAST_CUT = 4_096;

    private final KafkaTemplate<byte[], byte[]> kafka;
    private final int sendable;
    /** The size to cut each record's copy to, since the dead-letter topic refused a larger one: bounded, oldest forgotten first. */
    private final Map<Coordinates, Integer> cuts;

    DeadLetters(KafkaTemplate<byte[], byte[]> kafka, CheckoutProperties properties) {
        this.kafka = kafka;
        this.sendable = largestSendable(kafka.getProducerFactory().getConfigurationProperties());
        // Every record of every batch in flight (both listeners, each consumer thread) can be remembered at
        // once, so that none is forgotten before its batch comes again.
        int bound = 2 * properties.consumerThreads() * properties.batch().maxRecords();
        this.cuts = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Coordinates, Integer> eldest) {
                return size() > bound;
            }
        });
    }

    /** The largest record, in bytes as the producer counts it, that a producer with this configuration sends. */
    public static int largestSendable(Map<String, Object> producerConfig) {
        Map<String, Object> parsed = ProducerConfig.configDef().parse(producerConfig);
        return (int) Math.min((Integer) parsed.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG),
                (Long) parsed.get(ProducerConfig.BUFFER_MEMORY_CONFIG));
    }

    public void send(String topic, ConsumerRecord<byte[], byte[]> original, RequestReader.Poison<?> poison) {
        send(topic, original, poison.reason().code, poison.detail());
    }

    /**
     * Sends the dead letter of {@code original} in the current Kafka transaction and waits for the broker to take
     * it. {@code reason} is the {@code dlt-reason} code, {@code error} the {@code dlt-error} text.
     *
     * @throws Refused when the dead-letter topic refused it as too large
     */
    public void send(String topic, ConsumerRecord<byte[], byte[]> original, String reason, String error) {
        Coordinates at = new Coordinates(original.topic(), original.partition(), original.offset());
        Integer cut = cuts.get(at);
        ProducerRecord<byte[], byte[]> record = cut == null ? whole(topic, original, reason, error) : null;
        if (record == null || sizeOf(record) > sendable) {
            record = cut(topic, original, reason, error, Math.min(sendable, cut == null ? FIRST_CUT : cut));
            Header dropped = record.headers().lastHeader(DROPPED_HEADERS);
            // The fields that name the request are on the MDC (BatchProcessor); header names come from the sender.
            LogFields.at(log.atWarn(), at.topic(), at.partition(), at.offset())
                    .log("Dead-lettering {} as a copy cut to {} bytes: value {} of {} bytes{}", at, sizeOf(record),
                            record.value() == null ? 0 : record.value().length, original.value() == null ? 0 : original.value().length,
                            dropped == null ? "" : ", headers left out: "
                                    + LogFields.printable(LogFields.capped(new String(dropped.value(), StandardCharsets.UTF_8), 500)));
        }
        // Acknowledged before the batch goes on: a refusal dooms the transaction, and the producer then fails every
        // send still queued with that same exception, so only a dead letter sent alone is known to be the one refused.
        // Batches without dead letters never wait here.
        int size = sizeOf(record);
        kafka.flush();
        try {
            CompletableFuture<?> sent = kafka.send(record);
            kafka.flush();
            sent.join();
        } catch (RuntimeException e) {
            RuntimeException failure = e instanceof CompletionException && e.getCause() instanceof RuntimeException cause ? cause : e;
            if (!tooLarge(failure)) {
                throw failure;
            }
            int next = Math.max(LAST_CUT, Math.min(FIRST_CUT, size / 2));
            cuts.merge(at, next, Math::min);
            throw new Refused(at, size, next, failure);
        }
    }

    /**
     * The dead-letter topic refused a copy as too large. The transaction can no longer commit: the batch must roll
     * back and come again, and then the record goes as a copy cut to fit. Not a failure of the data.
     */
    public static final class Refused extends RuntimeException {

        Refused(Coordinates at, int size, int next, Throwable cause) {
            super("The dead-letter topic refused the copy of " + at + " (" + size + " bytes) as too large; the batch"
                    + " rolls back, and when it comes again a copy cut to " + next + " bytes is sent", cause);
        }
    }

    /** Where a record was read: the key of what is remembered about it. */
    record Coordinates(String topic, int partition, long offset) {

        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset;
        }
    }

    private static boolean tooLarge(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof RecordTooLargeException || t instanceof RecordBatchTooLargeException) {
                return true;
            }
        }
        return false;
    }

    static ProducerRecord<byte[], byte[]> whole(String topic, ConsumerRecord<byte[], byte[]> original,
                                                        String reason, String error) {
        Headers headers = new RecordHeaders();
        for (Header header : original.headers()) {
            if (!isOurs(header)) {
                headers.add(header);
            }
        }
        describe(headers, original, reason, utf8(error));
        return new ProducerRecord<>(topic, null, original.key(), original.value(), headers);
    }

    /**
     * A copy of at most {@code budget} bytes: a key or an original header larger than a small share of the budget
     * is left out (and named), and the value is cut to what room is left.
     */
    static ProducerRecord<byte[], byte[]> cut(String topic, ConsumerRecord<byte[], byte[]> original,
                                                      String reason, String error, int budget) {
        int small = budget / 16;
        byte[] value = original.value();
        byte[] whole = value == null ? new byte[0] : value;
        Headers headers = new RecordHeaders();
        describe(headers, original, reason, prefix(utf8(error), small));
        headers.add(TRUNCATED, utf8("true"))
                .add(ORIGINAL_SIZE, utf8(String.valueOf(whole.length)))
                .add(ORIGINAL_SHA256, utf8(sha256(whole)));
        byte[] key = original.key();
        if (key != null && key.length > small) {
            headers.add(DROPPED_KEY, utf8(String.valueOf(key.length)));
            key = null;
        }
        int room = budget / 8;
        List<String> dropped = new ArrayList<>();
        for (Header header : original.headers()) {
            if (isOurs(header)) {
                continue;
            }
            int size = utf8(header.key()).length + (header.value() == null ? 0 : header.value().length) + 10;
            if (size <= room) {
                headers.add(header);
                room -= size;
            } else {
                dropped.add(header.key());
            }
        }
        if (!dropped.isEmpty()) {
            headers.add(DROPPED_HEADERS, prefix(utf8(String.join(",", dropped)), small));
        }
        // The value's length is a varint: a few bytes more than the empty value's, hence the margin.
        int keep = Math.max(0, Math.min(whole.length, budget - sizeOf(key, new byte[0], headers) - 8));
        return new ProducerRecord<>(topic, null, key, value == null ? null : Arrays.copyOf(value, keep), headers);
    }

    private static void describe(Headers headers, ConsumerRecord<byte[], byte[]> original, String reason, byte[] error) {
        headers.add(REASON, utf8(reason))
                .add(ERROR, error)
                .add("dlt-original-topic", utf8(original.topic()))
                .add("dlt-original-partition", utf8(String.valueOf(original.partition())))
                .add("dlt-original-offset", utf8(String.valueOf(original.offset())));
    }

    private static boolean isOurs(Header header) {
        return header.key().regionMatches(true, 0, OURS, 0, OURS.length());
    }

    /** The size the producer checks against max.request.size: the record alone in an uncompressed batch. */
    static int sizeOf(ProducerRecord<byte[], byte[]> record) {
        return sizeOf(record.key(), record.value(), record.headers());
    }

    private static int sizeOf(byte[] key, byte[] value, Headers headers) {
        return AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE, CompressionType.NONE,
                key, value, headers.toArray());
    }

    /** At most {@code max} bytes of UTF-8, not splitting a character. */
    private static byte[] prefix(byte[] utf8, int max) {
        if (utf8.length <= max) {
            return utf8;
        }
        int end = max;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80) {
            end--;
        }
        return Arrays.copyOf(utf8, end);
    }

    private static String sha256(byte[] value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
