package io.github.checkout.demo;

import io.github.checkout.config.CheckoutProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code --hold}: the last item is held by one buyer whose payment is slow; a second buyer finds it out of
 * stock, then buys it the moment the hold has expired, before the sweep announces the expiry; the first
 * buyer's late confirmation is refused. Prints each step as it happens, and the end state.
 */
final class HoldExpiryDemo {

    private static final Duration HOLD = Duration.ofSeconds(3);
    private static final Duration WAIT = Duration.ofMinutes(1);

    private final JdbcClient jdbc;
    private final KafkaProperties kafka;
    private final CheckoutProperties.Topics topics;
    private final JsonMapper json = JsonMapper.builder().build();
    private final Instant start = Instant.now();

    HoldExpiryDemo(JdbcClient jdbc, KafkaProperties kafka, CheckoutProperties.Topics topics) {
        this.jdbc = jdbc;
        this.kafka = kafka;
        this.topics = topics;
    }

    /** Returns true when everything happened as told: one order, the hold expired once, the late confirmation refused. */
    boolean run() throws InterruptedException {
        UUID item = UUID.randomUUID();
        jdbc.sql("insert into items (id, name, stock) values (:id, 'the last item', 1)").param("id", item).update();
        System.out.printf("%nThe last item is on sale (stock 1). Buyer A holds it for %s while the payment runs...%n%n",
                HOLD.toSeconds() + " s");
        try (KafkaProducer<String, String> producer = LastItemRaceDemo.producer(kafka);
             KafkaConsumer<String, String> outcomes = LastItemRaceDemo.consumer(kafka, "hold-expiry-demo")) {
            outcomes.subscribe(List.of(topics.stockReserved(), topics.outOfStock(), topics.orderCreated(),
                    topics.reservationExpired(), topics.reservationRejected()));

            purchase(producer, item, "hold-a", "\"holdFor\":\"PT" + HOLD.toSeconds() + "S\"");
            JsonNode reserved = await(outcomes, topics.stockReserved(), "hold-a");
            UUID reservation = UUID.fromString(reserved.get("reservationId").asString());
            Instant expiresAt = Instant.parse(reserved.get("expiresAt").asString());
            step("Buyer A holds the last unit until %s (StockReserved, reservation %s)", at(expiresAt), reservation);

            purchase(producer, item, "buy-b-1", null);
            JsonNode refused = await(outcomes, topics.outOfStock(), "buy-b-1");
            step("Buyer B taps \"Buy\": out of stock, %d available (held by A)", refused.get("availableStock").asInt());

            Thread.sleep(Math.max(0, Duration.between(Instant.now(), expiresAt).toMillis() + 1));
            purchase(producer, item, "buy-b-2", null);
            JsonNode order = await(outcomes, topics.orderCreated(), "buy-b-2");
            step("The hold expires at %s. Buyer B taps again: order %s, stock %d", at(expiresAt),
                    order.get("orderId").asString(), order.get("remainingStock").asInt());

            JsonNode expired = awaitReservation(outcomes, topics.reservationExpired(), reservation);
            step("ReservationExpired announced for A's hold (expired at %s)", at(Instant.parse(expired.get("occurredAt").asString())));

            producer.send(new ProducerRecord<>(topics.reservationRequests(), reservation.toString(), """
                    {"type":"ConfirmReservation","idempotencyKey":"pay-a-%s","reservationId":"%s"}""".formatted(reservation, reservation)));
            producer.flush();
            JsonNode rejected = awaitReservation(outcomes, topics.reservationRejected(), reservation);
            step("Buyer A's payment completes late and confirms: rejected, %s", rejected.get("errorCode").asString());
        }
        Map<String, Object> end = jdbc.sql("""
                        select i.stock, i.held, (select count(*) from order_lines l where l.item_id = i.id) as orders
                        from items i where i.id = :id""")
                .param("id", item).query().singleRow();
        System.out.printf("""

                Orders created      %s
                Final stock         %s
                Held                %s
                Oversold            %d
                %n""", end.get("orders"), end.get("stock"), end.get("held"), Math.max(0, ((Number) end.get("orders")).intValue() - 1));
        return ((Number) end.get("orders")).intValue() == 1;
    }

    private void purchase(KafkaProducer<String, String> producer, UUID item, String key, String hold) {
        String request = """
                {"idempotencyKey":"%s-%s","userId":"%s","itemId":"%s","quantity":1%s}"""
                .formatted(key, item, UUID.randomUUID(), item, hold == null ? "" : "," + hold);
        producer.send(new ProducerRecord<>(topics.purchaseRequests(), item.toString(), request));
        producer.flush();
    }

    private JsonNode await(KafkaConsumer<String, String> outcomes, String topic, String keyPrefix) {
        return poll(outcomes, r -> r.topic().equals(topic) && r.value().contains("\"idempotencyKey\":\"" + keyPrefix + "-"));
    }

    private JsonNode awaitReservation(KafkaConsumer<String, String> outcomes, String topic, UUID reservation) {
        return poll(outcomes, r -> r.topic().equals(topic) && reservation.toString().equals(r.key()));
    }

    private JsonNode poll(KafkaConsumer<String, String> outcomes, Predicate<ConsumerRecord<String, String>> wanted) {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            for (ConsumerRecord<String, String> record : outcomes.poll(Duration.ofMillis(100))) {
                if (wanted.test(record)) {
                    return json.readTree(record.value());
                }
            }
        }
        throw new IllegalStateException("no outcome within " + WAIT.toSeconds() + " s");
    }

    private void step(String format, Object... args) {
        System.out.printf("  +%5.1f s  %s%n", Duration.between(start, Instant.now()).toMillis() / 1000.0, format.formatted(args));
    }

    private String at(Instant instant) {
        return "+%.1f s".formatted(Duration.between(start, instant).toMillis() / 1000.0);
    }
}
