package io.github.checkout.messaging;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.request.Answer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.stereotype.Component;

/**
 * Decides one poll batch inside the listener's Kafka transaction: dead-letters poison, decides the
 * rest, publishes their outcomes. Outcomes, dead letters and the batch's offsets commit together.
 *
 * <p>A failure that {@link Failures#isTransient is transient} leaves here at once: the transaction rolls
 * back and the container retries the whole batch after a back-off, without end, so no valid request is
 * dead-lettered or skipped because infrastructure was down, even in the middle of isolating. Any other
 * failure may be caused by one request's data: the batch is tried {@code checkout.retry.attempts} times,
 * then split in halves, recursively, until the requests that fail on their own are found. Each of those
 * is tried as often again alone, then dead-lettered as {@code undecidable} with the exception; every
 * other request of the batch is decided and answered once, in offset order.
 *
 * <p>{@link Metrics} counts the batch once its transaction commits.
 */
@Component
public class BatchProcessor {

    public static final String UNDECIDABLE = "undecidable";
    private static final Logger log = LoggerFactory.getLogger(BatchProcessor.class);
    private static final int MAX_ERROR_LENGTH = 2000;
    private static final int MAX_DETAIL_LENGTH = 500;

    private final DeadLetters deadLetters;
    private final Metrics metrics;
    private final int attempts;

    BatchProcessor(DeadLetters deadLetters, Metrics metrics, CheckoutProperties properties) {
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.attempts = properties.retry().attempts();
    }

    /**
     * @param path the path the metrics name: {@link Metrics#PURCHASE}, {@link Metrics#REFUND} or {@link Metrics#RESERVATION}
     * @param decide decides a list of requests in one database transaction and returns their answers in
     *               order; nothing may be visible outside the database until it returns
     * @param publish sends outcomes into the listener's Kafka transaction
     */
    public <R, O> void process(String path, List<ConsumerRecord<byte[], byte[]>> records, RequestReader<R> reader,
                               String deadLetterTopic, Function<List<R>, List<Answer<O>>> decide, Consumer<List<O>> publish) {
        Metrics.Batch batch = metrics.batch(path, records);
        Tally tally = new Tally();
        List<Request<R>> requests = new ArrayList<>(records.size());
        for (ConsumerRecord<byte[], byte[]> record : records) {
            RequestReader.Read<R> read = reader.readRecord(record);
            if (read instanceof RequestReader.Valid<R> valid) {
                requests.add(new Request<>(record, valid.request()));
            } else if (read instanceof RequestReader.Poison<R> poison) {
                try (LogFields.Scope naming = LogFields.naming(poison.known())) {
                    LoggingEventBuilder line = LogFields.at(log.atWarn(), record);
                    String key = LogFields.recordKey(record.key());
                    if (key != null) {
                        line = line.addKeyValue(LogFields.RECORD_KEY, key);
                    }
                    line.log("Dead-lettering {}{}: {} ({})", coordinates(record), named(poison.known()), poison.reason().code,
                            LogFields.printable(LogFields.capped(poison.detail(), MAX_DETAIL_LENGTH)));
                    deadLetters.send(deadLetterTopic, record, poison);
                }
                tally.poison++;
                batch.deadLettered(poison.reason().code, 1);
            }
        }
        List<Answer<O>> answers = new ArrayList<>(requests.size());
        decideIsolating(requests, true, decide, answers, deadLetterTopic, reader, tally);
        batch.deadLettered(UNDECIDABLE, tally.undecidable);
        batch.answered(answers);
        List<O> outcomes = answers.stream().map(Answer::event).toList();
        publish.accept(outcomes);
        batch.countOnCommit();
        if (log.isDebugEnabled()) {
            logBatch(records, requests.size(), outcomes, tally);
        }
    }

    private <R, O> void decideIsolating(List<Request<R>> requests, boolean whole, Function<List<R>, List<O>> decide,
                                        List<O> outcomes, String deadLetterTopic, RequestReader<R> reader, Tally tally) {
        if (requests.isEmpty()) {
            return;
        }
        // The whole batch and a single request get every attempt; the halves in between one each.
        int tries = whole || requests.size() == 1 ? attempts : 1;
        RuntimeException failure = null;
        for (int attempt = 1; attempt <= tries; attempt++) {
            try {
                outcomes.addAll(decide.apply(requests.stream().map(Request::request).toList()));
                return;
            } catch (RuntimeException e) {
                if (Failures.isTransient(e)) {
                    throw e;
                }
                failure = e;
            }
        }
        if (requests.size() == 1) {
            Request<R> one = requests.get(0);
            ConsumerRecord<byte[], byte[]> record = one.record();
            Map<String, String> names = reader.logFields(one.request());
            String error = describe(failure);
            try (LogFields.Scope naming = LogFields.naming(names)) {
                LogFields.at(log.atError(), record).log("Dead-lettering {}{}: undecidable, it failed alone {} time(s) with {}",
                        coordinates(record), named(names), tries, error);
                deadLetters.send(deadLetterTopic, record, UNDECIDABLE, error);
            }
            tally.undecidable++;
            return;
        }
        tally.split = true;
        LogFields.at(log.atWarn(), requests.get(0).record())
                .log("A batch of {} request(s) from {} failed {} time(s) with {}; splitting it to find the request(s) that fail alone",
                        requests.size(), coordinates(requests.get(0).record()), tries, describe(failure));
        int half = requests.size() / 2;
        decideIsolating(requests.subList(0, half), false, decide, outcomes, deadLetterTopic, reader, tally);
        decideIsolating(requests.subList(half, requests.size()), false, decide, outcomes, deadLetterTopic, reader, tally);
    }

    /** The batch's one DEBUG line: what came, what was dead-lettered, what was decided, and how. */
    private static <O> void logBatch(List<ConsumerRecord<byte[], byte[]>> records, int valid, List<O> outcomes, Tally tally) {
        Map<String, Long> byOutcome = outcomes.stream().collect(Collectors.groupingBy(
                o -> snakeCase(o.getClass().getSimpleName()), TreeMap::new, Collectors.counting()));
        List<String> partitions = records.stream().map(r -> r.topic() + "-" + r.partition()).distinct().sorted().toList();
        LoggingEventBuilder line = log.atDebug()
                .addKeyValue("checkout.batch.records", records.size())
                .addKeyValue("checkout.batch.valid", valid)
                .addKeyValue("checkout.batch.poison", tally.poison)
                .addKeyValue("checkout.batch.decided", outcomes.size())
                .addKeyValue("checkout.batch.undecidable", tally.undecidable)
                .addKeyValue("checkout.batch.split", tally.split)
                .addKeyValue("kafka.topic_partitions", partitions);
        for (Map.Entry<String, Long> outcome : byOutcome.entrySet()) {
            line = line.addKeyValue("checkout.batch.outcomes." + outcome.getKey(), outcome.getValue());
        }
        line.log("Batch of {} record(s) from {}: {} valid, {} poison dead-lettered, {} decided {}, {} undecidable{}",
                records.size(), partitions, valid, tally.poison, outcomes.size(), byOutcome, tally.undecidable,
                tally.split ? ", split to isolate them" : "");
    }

    /** OrderCreated: order_created, as the outcome topics are named. */
    static String snakeCase(String name) {
        return name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    private static String named(Map<String, String> names) {
        return names.isEmpty() ? "" : " (" + LogFields.text(names) + ")";
    }

    /** The most specific cause's class and message: what {@code dlt-error} says of an undecidable request. */
    static String describe(Throwable failure) {
        Throwable cause = NestedExceptionUtils.getMostSpecificCause(failure);
        String text = cause.getClass().getName() + ": " + cause.getMessage();
        return text.length() <= MAX_ERROR_LENGTH ? text : text.substring(0, MAX_ERROR_LENGTH) + "...";
    }

    private static String coordinates(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    private record Request<R>(ConsumerRecord<byte[], byte[]> record, R request) {
    }

    /** What befell one batch, for its DEBUG line. */
    private static final class Tally {
        int poison;
        int undecidable;
        boolean split;
    }
}
