package io.github.checkout.messaging;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.MDC;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The structured fields of WARN and ERROR lines about a request, a partition or a batch (docs/logging.md).
 * Structured logging ({@code logging.structured.format.console=ecs}) writes them as JSON fields. The
 * {@code checkout.*} fields that name one request are on the MDC while the service handles that request,
 * so every line logged meanwhile carries them; the {@code kafka.*} coordinates are key-value pairs of each
 * line, numbers where they are numbers. Values that come from a request are cut to {@value #MAX_LENGTH}
 * characters: a hostile request must not fill the log.
 */
public final class LogFields {

    public static final String IDEMPOTENCY_KEY = "checkout.idempotency_key";
    public static final String ITEM_ID = "checkout.item_id";
    public static final String ORDER_ID = "checkout.order_id";
    public static final String RESERVATION_ID = "checkout.reservation_id";
    public static final String TOPIC = "kafka.topic";
    public static final String PARTITION = "kafka.partition";
    public static final String OFFSET = "kafka.offset";
    /** The record's key, as UTF-8: for poison, whose value tells nothing, often the only name the sender gave it. */
    public static final String RECORD_KEY = "kafka.key";
    public static final String CONSUMER_GROUP = "kafka.consumer_group";
    static final int MAX_LENGTH = 200;

    private LogFields() {
    }

    /** Adds where a record was read: its topic, partition and offset. */
    static LoggingEventBuilder at(LoggingEventBuilder line, ConsumerRecord<?, ?> record) {
        return at(line, record.topic(), record.partition(), record.offset());
    }

    static LoggingEventBuilder at(LoggingEventBuilder line, String topic, int partition, long offset) {
        return line.addKeyValue(TOPIC, topic).addKeyValue(PARTITION, partition).addKeyValue(OFFSET, offset);
    }

    /** Puts the fields that name one request on the MDC, until closed. */
    static Scope naming(Map<String, String> request) {
        request.forEach((name, value) -> MDC.put(name, capped(value)));
        return () -> request.keySet().forEach(MDC::remove);
    }

    /** The fields for a message text, e.g. {@code idempotency_key=k-1, item_id=...}: control characters replaced. */
    static String text(Map<String, String> request) {
        return request.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey().substring(e.getKey().lastIndexOf('.') + 1) + "=" + printable(capped(e.getValue())))
                .collect(Collectors.joining(", "));
    }

    /** A record key as UTF-8, cut; null when there is none. */
    static String recordKey(byte[] key) {
        return key == null ? null : capped(new String(key, 0, Math.min(key.length, 4 * MAX_LENGTH), StandardCharsets.UTF_8));
    }

    static String capped(String value) {
        return capped(value, MAX_LENGTH);
    }

    static String capped(String value, int max) {
        if (value == null || value.codePointCount(0, value.length()) <= max) {
            return value;
        }
        return value.substring(0, value.offsetByCodePoints(0, max)) + "...";
    }

    /** A line break in a text from outside would forge a line of a plain-text log. */
    static String printable(String value) {
        if (value == null) {
            return null;
        }
        StringBuilder text = new StringBuilder(value.length());
        value.codePoints().forEach(c -> text.appendCodePoint(Character.isISOControl(c) || c == 0x2028 || c == 0x2029 ? '?' : c));
        return text.toString();
    }

    /** MDC fields put by {@link #naming}, removed on close. */
    interface Scope extends AutoCloseable {

        @Override
        void close();
    }
}
