package io.github.checkout.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.checkout.support.ServiceProcess;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served demo is a playground: it prints where its broker and database listen, which items it
 * stocked and a request to send, and what it prints works from outside: the request, sent as printed,
 * is decided and its outcome read by a read_committed consumer; the database answers on the printed URL.
 * A Kafka port or a management port that is taken is replaced by a free one, and the demo says so; the
 * printed health address answers.
 */
class ServedDemoJarIT {

    @Test
    void servedDemo_printsAPlaygroundThatWorksFromOutside(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0);
             ServerSocket takenManagement = new ServerSocket(0);
             ServiceProcess run = ServiceProcess.onItsEmbeddedDefault(dir.resolve("output.txt"), "--buyers=2", "--serve",
                     "--checkout.embedded.kafka-port=" + taken.getLocalPort(),
                     "--management.server.port=" + takenManagement.getLocalPort()).start()) {
            run.awaitOutput("kafka-console-consumer.sh", 1, Duration.ofMinutes(3));
            String printed = run.output();

            String bootstrap = find(printed, "\\n +Kafka +(\\S+)");
            assertThat(printed).contains(taken.getLocalPort() + " is taken: a free port instead");
            assertThat(bootstrap).doesNotEndWith(":" + taken.getLocalPort());
            Matcher kcat = Pattern.compile("echo '([0-9a-f-]{36})\\|(\\{.*})' \\| kcat -P -b (\\S+) -t (\\S+) -K '\\|'").matcher(printed);
            assertThat(kcat.find()).as(printed).isTrue();
            String item = kcat.group(1);
            String request = kcat.group(2);
            assertThat(kcat.group(3)).isEqualTo(bootstrap);
            assertThat(printed).contains("kcat -b " + bootstrap + " -X isolation.level=read_committed")
                    .contains("kafka-console-consumer.sh --bootstrap-server " + bootstrap + " --isolation-level read_committed");
            String idempotencyKey = find(request, "\"idempotencyKey\":\"([^\"]+)\"");
            Matcher cartLine = Pattern.compile("echo '([0-9a-f-]{36})\\|(\\{.*\"lines\".*})' \\| kcat -P -b (\\S+) -t (\\S+) -K '\\|'")
                    .matcher(printed);
            assertThat(cartLine.find()).as(printed).isTrue();
            String cart = cartLine.group(2);
            String cartKey = find(cart, "\"idempotencyKey\":\"([^\"]+)\"");
            List<String> cartItems = Pattern.compile("\"itemId\":\"([0-9a-f-]{36})\"").matcher(cart).results()
                    .map(m -> m.group(1)).toList();

            try (var producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                    new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>(kcat.group(4), item, request)).get();
                producer.send(new ProducerRecord<>(cartLine.group(4), cartLine.group(1), cart)).get();
            }
            try (var outcomes = new KafkaConsumer<>(Map.<String, Object>of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(), new StringDeserializer())) {
                List<TopicPartition> partitions = outcomes.partitionsFor("order-created").stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                outcomes.assign(partitions);
                outcomes.seekToBeginning(partitions);
                List<String> orders = new ArrayList<>();
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    outcomes.poll(Duration.ofMillis(200)).forEach(record -> orders.add(record.value()));
                    assertThat(orders).anyMatch(order -> order.contains(idempotencyKey) && order.contains(item))
                            .anyMatch(order -> order.contains(cartKey) && order.contains("\"lines\""));
                });
            }

            assertThat(printed).contains(takenManagement.getLocalPort() + " is taken: a free port instead");
            String health = find(printed, "\\n +Health +(http://localhost:\\d+/actuator/health)");
            assertThat(health).doesNotContain(":" + takenManagement.getLocalPort() + "/");
            HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(health)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(answer.body()).contains("\"status\":\"UP\"");

            String jdbcUrl = find(printed, "PostgreSQL +(jdbc:postgresql:\\S+) \\(user (\\S+), password (\\S+)\\)");
            try (Connection db = DriverManager.getConnection(jdbcUrl, "postgres", "postgres");
                 Statement statement = db.createStatement();
                 ResultSet stock = statement.executeQuery("select stock from items where id = '" + UUID.fromString(item) + "'")) {
                assertThat(stock.next()).isTrue();
                assertThat(stock.getInt(1)).as("stock after one unit sold").isEqualTo(9);
            }
            try (Connection db = DriverManager.getConnection(jdbcUrl, "postgres", "postgres");
                 Statement statement = db.createStatement();
                 ResultSet stock = statement.executeQuery("select stock from items where id in ('" + cartItems.get(0) + "', '"
                         + cartItems.get(1) + "') order by id = '" + cartItems.get(0) + "' desc")) {
                List<Integer> stocks = new ArrayList<>();
                while (stock.next()) {
                    stocks.add(stock.getInt(1));
                }
                assertThat(stocks).as("stock after the cart of 2 + 1").containsExactly(8, 9);
            }
        }
    }

    private static String find(String text, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        assertThat(matcher.find()).as("/%s/ in:%n%s", regex, text).isTrue();
        return matcher.group(1);
    }
}
