package io.github.checkout.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.refund.RefundRequested;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector;
import io.github.checkout.support.TestInfrastructure;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * Records as large as their topics allow are dead-lettered, whole when the dead-letter topic takes them,
 * cut to fit when it does not, and the requests behind them are decided: nothing stalls. Purchases run on
 * a topic that takes 4 MiB, with the dead-letter topic the service creates; refunds on a topic that takes
 * 4 MiB whose dead-letter topic takes only 256 KiB.
 */
@DirtiesContext
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + OversizedDeadLetterIT.PURCHASES,
        "checkout.topics.purchase-requests-dead-letter=" + OversizedDeadLetterIT.PURCHASES_DLT,
        "checkout.topics.refund-requests=" + OversizedDeadLetterIT.REFUNDS_TOPIC,
        "checkout.topics.refund-requests-dead-letter=" + OversizedDeadLetterIT.REFUNDS_DLT,
        "checkout.groups.purchases=oversized-dead-letter-it",
        "checkout.groups.refunds=oversized-dead-letter-it-refunds"})
class OversizedDeadLetterIT extends IntegrationTestSupport {

    static final String PURCHASES = "big-purchase-requests";
    static final String PURCHASES_DLT = PURCHASES + ".DLT";
    static final String REFUNDS_TOPIC = "big-refund-requests";
    static final String REFUNDS_DLT = REFUNDS_TOPIC + ".DLT";
    private static final int LARGE_TOPIC = 4 * 1024 * 1024;
    private static final int SMALL_DEAD_LETTER_TOPIC = 256 * 1024;
    private static final int TWO_MB = 2 * 1024 * 1024;

    private static final List<ConsumerRecord<String, byte[]>> deadLetters = new CopyOnWriteArrayList<>();
    private static final Random random = new Random();
    private static KafkaProducer<String, byte[]> plain;
    private static KafkaProducer<String, byte[]> gzip;
    private static KafkaConsumer<String, byte[]> reader;

    @Autowired
    private KafkaListenerEndpointRegistry registry;

    /**
     * Before the context starts, so that the service finds these topics with these limits and leaves them be. The
     * service creates the purchases' dead-letter topic itself.
     */
    @DynamicPropertySource
    static void largeTopics(DynamicPropertyRegistry registry) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers()))) {
            admin.createTopics(List.of(
                    topic(PURCHASES, LARGE_TOPIC),
                    topic(REFUNDS_TOPIC, LARGE_TOPIC), topic(REFUNDS_DLT, SMALL_DEAD_LETTER_TOPIC))).all().get();
        }
        plain = producer("none");
        gzip = producer("gzip");
        reader = deadLetterReader();
        Thread thread = new Thread(OversizedDeadLetterIT::readDeadLetters, "dead-letter-reader");
        thread.setDaemon(true);
        thread.start();
    }

    @AfterAll
    static void close() {
        plain.close();
        gzip.close();
        reader.wakeup();
    }

    @Test
    void twoMegabyteRequest_isDeadLetteredWholeAndTheRequestsBehindItDecided() throws Exception {
        UUID item = newItem(3);
        byte[] request = paddedRequest(TWO_MB, true);
        sendAndWait(plain, new ProducerRecord<>(PURCHASES, 0, item.toString(), request));
        purchasesBehind(item);

        ConsumerRecord<String, byte[]> dead = deadLetterOf(item.toString(), PURCHASES_DLT);
        assertThat(dead.value()).isEqualTo(request);
        assertThat(values(dead, DeadLetters.REASON)).containsExactly("oversized");
        assertThat(dead.headers().lastHeader(DeadLetters.TRUNCATED)).isNull();
    }

    @Test
    void megabyteHeaderOnATinyPoisonValue_isDeadLetteredWholeAndTheRequestsBehindItDecided() throws Exception {
        UUID item = newItem(3);
        byte[] big = randomBytes(1024 * 1024);
        var poison = new ProducerRecord<>(PURCHASES, 0, item.toString(), "not json".getBytes(StandardCharsets.UTF_8));
        poison.headers().add("big", big);
        sendAndWait(plain, poison);
        purchasesBehind(item);

        ConsumerRecord<String, byte[]> dead = deadLetterOf(item.toString(), PURCHASES_DLT);
        assertThat(new String(dead.value(), StandardCharsets.UTF_8)).isEqualTo("not json");
        assertThat(dead.headers().headers("big")).singleElement().extracting(Header::value).isEqualTo(big);
        assertThat(values(dead, DeadLetters.REASON)).containsExactly("malformed_json");
    }

    @Test
    void compressedTwoMegabyteRecord_isDeadLetteredWholeAndTheRequestsBehindItDecided() throws Exception {
        UUID item = newItem(3);
        byte[] request = paddedRequest(TWO_MB, false);
        sendAndWait(gzip, new ProducerRecord<>(PURCHASES, 0, item.toString(), request));
        purchasesBehind(item);

        ConsumerRecord<String, byte[]> dead = deadLetterOf(item.toString(), PURCHASES_DLT);
        assertThat(dead.value()).isEqualTo(request);
        assertThat(values(dead, DeadLetters.REASON)).containsExactly("oversized");
    }

    @Test
    void incomingDeadLetterHeaders_areReplacedByTheServicesOwn() throws Exception {
        UUID item = newItem(3);
        var poison = new ProducerRecord<>(PURCHASES, 0, item.toString(), "not json".getBytes(StandardCharsets.UTF_8));
        poison.headers()
                .add(DeadLetters.REASON, "my_own_reason".getBytes(StandardCharsets.UTF_8))
                .add(DeadLetters.ERROR, "my own error".getBytes(StandardCharsets.UTF_8))
                .add("dlt-original-offset", "-1".getBytes(StandardCharsets.UTF_8))
                .add("trace-id", "t-1".getBytes(StandardCharsets.UTF_8));
        RecordMetadata sent = sendAndWait(plain, poison);
        purchasesBehind(item);

        ConsumerRecord<String, byte[]> dead = deadLetterOf(item.toString(), PURCHASES_DLT);
        assertThat(values(dead, DeadLetters.REASON)).containsExactly("malformed_json");
        assertThat(values(dead, DeadLetters.ERROR)).singleElement().isNotEqualTo("my own error");
        assertThat(values(dead, "dlt-original-offset")).containsExactly(String.valueOf(sent.offset()));
        assertThat(values(dead, "trace-id")).containsExactly("t-1");
    }

    @Test
    void deadLetterTopicRefusingTheSize_getsCopiesCutToFitAndTheRefundsAroundThemAreDecidedOnce() throws Exception {
        UUID item = newItem(6);
        UUID order = newOrder(item, 6);
        byte[] noise = randomBytes(400 * 1024);
        byte[] bigHeader = randomBytes(300 * 1024);
        var headerPoison = new ProducerRecord<>(REFUNDS_TOPIC, 0, order.toString(), "not json".getBytes(StandardCharsets.UTF_8));
        headerPoison.headers().add("big", bigHeader).add("trace-id", "t-2".getBytes(StandardCharsets.UTF_8));
        // All in one poll batch (under max.partition.fetch.bytes), so that the batch that rolls back because its
        // dead letters were refused holds valid refunds too, decided before it rolled back and again after.
        MessageListenerContainer refunds = registry.getListenerContainer("refund-requests");
        refunds.stop();
        RecordMetadata noiseSent;
        try {
            refunds(order, 0, 3);
            noiseSent = sendAndWait(plain, new ProducerRecord<>(REFUNDS_TOPIC, 0, order.toString(), noise));
            sendAndWait(plain, headerPoison);
            sendAndWait(plain, new ProducerRecord<>(REFUNDS_TOPIC, 0, order.toString(), "{".getBytes(StandardCharsets.UTF_8)));
            refunds(order, 3, 6);
        } finally {
            refunds.start();
        }

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(6));
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(outcomes().forItem(item)).allSatisfy(o -> assertThat(o.topic()).isEqualTo(OutcomeCollector.ORDER_REFUNDED));
        assertThat(stockOf(item)).isEqualTo(6);
        List<ConsumerRecord<String, byte[]>> dead = deadLettersOf(order.toString(), REFUNDS_DLT, 3);
        ConsumerRecord<String, byte[]> cutValue = dead.get(0);
        assertThat(cutValue.serializedValueSize()).isPositive().isLessThan(SMALL_DEAD_LETTER_TOPIC);
        assertThat(noise).startsWith(cutValue.value());
        assertThat(values(cutValue, DeadLetters.TRUNCATED)).containsExactly("true");
        assertThat(values(cutValue, DeadLetters.ORIGINAL_SIZE)).containsExactly(String.valueOf(noise.length));
        assertThat(values(cutValue, DeadLetters.ORIGINAL_SHA256)).containsExactly(sha256(noise));
        assertThat(values(cutValue, DeadLetters.REASON)).containsExactly("oversized");
        assertThat(values(cutValue, "dlt-original-offset")).containsExactly(String.valueOf(noiseSent.offset()));

        ConsumerRecord<String, byte[]> cutHeaders = dead.get(1);
        assertThat(new String(cutHeaders.value(), StandardCharsets.UTF_8)).isEqualTo("not json");
        assertThat(cutHeaders.headers().lastHeader("big")).isNull();
        assertThat(values(cutHeaders, DeadLetters.DROPPED_HEADERS)).containsExactly("big");
        assertThat(values(cutHeaders, "trace-id")).containsExactly("t-2");
        assertThat(values(cutHeaders, DeadLetters.TRUNCATED)).containsExactly("true");
        assertThat(values(cutHeaders, DeadLetters.ORIGINAL_SIZE)).containsExactly("8");
        assertThat(values(cutHeaders, DeadLetters.ORIGINAL_SHA256)).containsExactly(sha256("not json".getBytes(StandardCharsets.UTF_8)));
        assertThat(values(cutHeaders, DeadLetters.REASON)).containsExactly("malformed_json");

        // Sent behind the refused ones in the same transaction, it fits, and goes whole.
        ConsumerRecord<String, byte[]> small = dead.get(2);
        assertThat(new String(small.value(), StandardCharsets.UTF_8)).isEqualTo("{");
        assertThat(small.headers().lastHeader(DeadLetters.TRUNCATED)).isNull();
    }

    @Test
    void compressibleTwoMegabyteRecord_fitsTheSmallDeadLetterTopicWhole() throws Exception {
        UUID item = newItem(3);
        UUID order = newOrder(item, 3);
        byte[] request = paddedRequest(TWO_MB, false);
        sendAndWait(plain, new ProducerRecord<>(REFUNDS_TOPIC, 0, order.toString(), request));
        refundsBehind(item, order);

        ConsumerRecord<String, byte[]> dead = deadLettersOf(order.toString(), REFUNDS_DLT, 1).get(0);
        assertThat(dead.value()).isEqualTo(request);
        assertThat(dead.headers().lastHeader(DeadLetters.TRUNCATED)).isNull();
    }

    /** Three valid purchases on the poison's partition, after it; all three are decided. */
    private void purchasesBehind(UUID item) throws Exception {
        for (int i = 0; i < 3; i++) {
            sendAndWait(plain, new ProducerRecord<>(PURCHASES, 0, item.toString(),
                    json("big-" + item + "-" + i, UUID.randomUUID(), item, 1).getBytes(StandardCharsets.UTF_8)));
        }
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(3));
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(stockOf(item)).isZero();
    }

    /** Refunds of one unit, numbered {@code from} to {@code to} (exclusive), on partition 0. */
    private static void refunds(UUID order, int from, int to) throws Exception {
        for (int i = from; i < to; i++) {
            sendAndWait(plain, new ProducerRecord<>(REFUNDS_TOPIC, 0, order.toString(), refundJson(
                    "big-" + order + "-" + i, order, 1, RefundRequested.CUSTOMER_RETURN).getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** Three valid refunds of one unit on the poison's partition, after it; all three are decided. */
    private void refundsBehind(UUID item, UUID order) throws Exception {
        refunds(order, 0, 3);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(outcomes().forItem(item)).hasSize(3));
        assertThat(outcomes().forItem(item)).map(o -> o.text("idempotencyKey")).doesNotHaveDuplicates();
        assertThat(stockOf(item)).isEqualTo(3);
    }

    private static ConsumerRecord<String, byte[]> deadLetterOf(String key, String topic) {
        return deadLettersOf(key, topic, 1).get(0);
    }

    /** The dead letters with this key, awaited until there are {@code count}, and exactly that many. */
    private static List<ConsumerRecord<String, byte[]>> deadLettersOf(String key, String topic, int count) {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(keyed(key, topic)).hasSize(count));
        return keyed(key, topic);
    }

    private static List<ConsumerRecord<String, byte[]>> keyed(String key, String topic) {
        return deadLetters.stream().filter(r -> r.topic().equals(topic) && key.equals(r.key())).toList();
    }

    private static List<String> values(ConsumerRecord<?, ?> record, String header) {
        List<String> values = new ArrayList<>();
        for (Header h : record.headers().headers(header)) {
            values.add(new String(h.value(), StandardCharsets.UTF_8));
        }
        return values;
    }

    /**
     * A purchase request padded with an unknown property to {@code size} bytes: oversized poison. Padded with one
     * letter it compresses to almost nothing; with random letters lz4 barely shrinks it.
     */
    private static byte[] paddedRequest(int size, boolean random) {
        String head = "{\"idempotencyKey\":\"" + UUID.randomUUID() + "\",\"pad\":\"";
        String tail = "\"}";
        StringBuilder pad = new StringBuilder();
        for (int i = head.length() + tail.length(); i < size; i++) {
            pad.append(random ? (char) ('a' + OversizedDeadLetterIT.random.nextInt(26)) : 'x');
        }
        return (head + pad + tail).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] randomBytes(int size) {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        return bytes;
    }

    private static String sha256(byte[] value) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
    }

    private static RecordMetadata sendAndWait(KafkaProducer<String, byte[]> producer, ProducerRecord<String, byte[]> record)
            throws Exception {
        return producer.send(record).get();
    }

    private static NewTopic topic(String name, int maxMessageBytes) {
        return new NewTopic(name, 4, (short) 1).configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(maxMessageBytes)));
    }

    /** The shared test producer keeps the 1 MiB default max.request.size; this one sends what the topics take. */
    private static KafkaProducer<String, byte[]> producer(String compression) {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, LARGE_TOPIC,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, compression,
                ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1),
                new StringSerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<String, byte[]> deadLetterReader() {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "oversized-dead-letter-reader-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private static void readDeadLetters() {
        try (KafkaConsumer<String, byte[]> consumer = reader) {
            consumer.subscribe(List.of(PURCHASES_DLT, REFUNDS_DLT));
            while (true) {
                consumer.poll(Duration.ofMillis(100)).forEach(deadLetters::add);
            }
        } catch (WakeupException e) {
            // the class is done
        }
    }
}
