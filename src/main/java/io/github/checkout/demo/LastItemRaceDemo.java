package io.github.checkout.demo;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.embedded.EmbeddedInfrastructure;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * On the embedded default: puts one item with stock 1 on sale, lets {@code --buyers=N} buyers (2 by
 * default) send their purchase requests at the same instant over all partitions, waits until every
 * request is decided and prints what happened. With {@code --hold}, shows a hold expiring and its stock
 * bought by the next buyer instead ({@link HoldExpiryDemo}). Exits afterwards unless {@code --serve} is given:
 * then it stays on as a playground and prints how to reach it.
 */
@Component
@ConditionalOnProperty(name = {"checkout.embedded", "checkout.demo.enabled"}, havingValue = "true", matchIfMissing = false)
class LastItemRaceDemo implements ApplicationRunner {

    private final JdbcClient jdbc;
    private final KafkaProperties kafka;
    private final CheckoutProperties.Topics topics;
    private final ConfigurableApplicationContext context;
    private final Environment environment;

    LastItemRaceDemo(JdbcClient jdbc, KafkaProperties kafka, CheckoutProperties properties,
                     ConfigurableApplicationContext context) {
        this.jdbc = jdbc;
        this.kafka = kafka;
        this.topics = properties.topics();
        this.context = context;
        this.environment = context.getEnvironment();
    }

    @Override
    public void run(ApplicationArguments args) throws Exception {
        if (args.containsOption("hold")) {
            boolean asTold = new HoldExpiryDemo(jdbc, kafka, topics).run();
            if (!args.containsOption("serve")) {
                System.exit(SpringApplication.exit(context, () -> asTold ? 0 : 1));
            }
            System.out.print(playground());
            return;
        }
        int buyers = args.containsOption("buyers") ? Integer.parseInt(args.getOptionValues("buyers").get(0)) : 2;
        if (buyers < 1) {
            throw new IllegalArgumentException("--buyers must be at least 1");
        }
        UUID item = UUID.randomUUID();
        jdbc.sql("insert into items (id, name, stock) values (:id, 'the last item', 1)").param("id", item).update();
        System.out.printf("%nThe last item is on sale (stock 1). %d buyers tap \"Buy\" at the same instant...%n", buyers);

        int orders = 0;
        int outOfStock = 0;
        int other = 0;
        try (KafkaConsumer<String, String> outcomes = consumer(kafka, "last-item-race-demo");
             ProgressBar progress = new ProgressBarBuilder().setTaskName("Deciding").setInitialMax(buyers).build()) {
            // From the earliest offset: the item is new, so every outcome for it is read however long joining takes.
            outcomes.subscribe(List.of(topics.orderCreated(), topics.outOfStock(), topics.purchaseRejected()));
            fireAtOnce(item, buyers);
            Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
            while (orders + outOfStock + other < buyers && Instant.now().isBefore(deadline)) {
                for (var record : outcomes.poll(Duration.ofMillis(200))) {
                    if (!item.toString().equals(record.key())) {
                        continue;
                    }
                    if (record.topic().equals(topics.orderCreated())) {
                        orders++;
                    } else if (record.topic().equals(topics.outOfStock())) {
                        outOfStock++;
                    } else {
                        other++;
                    }
                    progress.step();
                }
            }
        }
        int stock = jdbc.sql("select stock from items where id = :id").param("id", item).query(Integer.class).single();
        int rows = jdbc.sql("select count(*) from orders where item_id = :id").param("id", item).query(Integer.class).single();
        System.out.printf("""

                Buyers              %d
                Orders created      %d
                Out of stock        %d
                Rejected            %d
                Undecided           %d
                Final stock         %d
                Oversold            %d
                %n""", buyers, orders, outOfStock, other, buyers - orders - outOfStock - other, stock,
                Math.max(0, rows - 1));
        if (!args.containsOption("serve")) {
            System.exit(SpringApplication.exit(context));
        }
        System.out.print(playground());
    }

    /**
     * With {@code --serve}: where the broker and the database listen, a few items in stock, and how to
     * send a request and read its outcome with standard Kafka clients.
     */
    private String playground() {
        List<UUID> items = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            UUID item = UUID.randomUUID();
            jdbc.sql("insert into items (id, name, stock) values (:id, :name, 10)")
                    .param("id", item).param("name", "playground item " + i).update();
            items.add(item);
        }
        String bootstrap = String.join(",", kafka.getBootstrapServers());
        String jdbcUrl = environment.getProperty("spring.datasource.url");
        UUID item = items.get(0);
        String request = """
                {"idempotencyKey":"%s","userId":"%s","itemId":"%s","quantity":1}"""
                .formatted(UUID.randomUUID(), UUID.randomUUID(), item);
        UUID buyer = UUID.randomUUID();
        String cart = """
                {"idempotencyKey":"%s","userId":"%s","lines":[{"itemId":"%s","quantity":2},{"itemId":"%s","quantity":1}]}"""
                .formatted(UUID.randomUUID(), buyer, items.get(1), items.get(2));
        String outcomes = String.join(" ", topics.orderCreated(), topics.outOfStock(), topics.purchaseRejected());
        return """
                Still serving (--serve), Ctrl-C to stop. Try it from another terminal:

                  Kafka        %s%s
                  PostgreSQL   %s (user %s, password %s)%s
                  In stock     %s, 10 units each
                  Health       http://localhost:%s/actuator/health, metrics on /actuator/prometheus%s

                Send a purchase request, keyed by its item (kcat, or Kafka's own bin/kafka-console-producer.sh):
                  echo '%s|%s' | kcat -P -b %s -t %s -K '|'
                  echo '%s|%s' | kafka-console-producer.sh --bootstrap-server %s --topic %s --property parse.key=true --property 'key.separator=|'
                Send the same line twice: one decision, the same outcome again, the stock taken once.
                Or a cart, keyed by its buyer, taken whole or not at all:
                  echo '%s|%s' | kcat -P -b %s -t %s -K '|'

                Read the outcomes as a transactional reader does, committed ones only:
                  kcat -b %s -X isolation.level=read_committed -X auto.offset.reset=earliest -G playground -f '%%t %%k %%s\\n' %s
                  kafka-console-consumer.sh --bootstrap-server %s --isolation-level read_committed --include '%s' --from-beginning --property print.key=true

                """.formatted(
                bootstrap, taken("kafka-port", EmbeddedInfrastructure.KAFKA_PORT, bootstrap.substring(bootstrap.lastIndexOf(':') + 1)),
                jdbcUrl, environment.getProperty("spring.datasource.username"), environment.getProperty("spring.datasource.password"),
                taken("postgres-port", EmbeddedInfrastructure.POSTGRES_PORT, String.valueOf(URI.create(jdbcUrl.substring(5)).getPort())),
                String.join(", ", items.stream().map(UUID::toString).toList()),
                environment.getProperty("local.management.port"),
                takenNote("management.server.port", environment.getProperty("checkout.embedded.management-port-taken", Integer.class, 0),
                        environment.getProperty("local.management.port")),
                item, request, bootstrap, topics.purchaseRequests(),
                item, request, bootstrap, topics.purchaseRequests(),
                buyer, cart, bootstrap, topics.purchaseRequests(),
                bootstrap, outcomes,
                bootstrap, outcomes.replace(' ', '|'));
    }

    /** A note when the embedded default could not have the port it was given: another process holds it. */
    private String taken(String setting, int defaultPort, String port) {
        String name = "checkout.embedded." + setting;
        return takenNote(name, environment.getProperty(name, Integer.class, defaultPort), port);
    }

    private static String takenNote(String setting, int wanted, String port) {
        return wanted == 0 || String.valueOf(wanted).equals(port) ? ""
                : "  (%d is taken: a free port instead; --%s=<port> chooses another)".formatted(wanted, setting);
    }

    /** Each buyer on a thread of its own, released together, spread over every partition as careless keys would. */
    private void fireAtOnce(UUID item, int buyers) throws InterruptedException {
        try (var producer = producer(kafka)) {
            int partitions = producer.partitionsFor(topics.purchaseRequests()).size();
            CountDownLatch start = new CountDownLatch(1);
            CountDownLatch sent = new CountDownLatch(buyers);
            int threads = Math.min(buyers, 64);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<List<String>> shares = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                shares.add(new ArrayList<>());
            }
            for (int b = 0; b < buyers; b++) {
                shares.get(b % threads).add("""
                        {"idempotencyKey":"%s","userId":"%s","itemId":"%s","quantity":1}"""
                        .formatted(UUID.randomUUID(), UUID.randomUUID(), item));
            }
            for (int t = 0; t < threads; t++) {
                int partition = t % partitions;
                List<String> share = shares.get(t);
                pool.submit(() -> {
                    start.await();
                    for (String request : share) {
                        producer.send(new ProducerRecord<>(topics.purchaseRequests(), partition, item.toString(), request));
                        sent.countDown();
                    }
                    return null;
                });
            }
            start.countDown();
            sent.await();
            producer.flush();
            pool.shutdown();
        }
    }

    /** A plain producer of JSON strings, not transactional: the demo's buyers. */
    static KafkaProducer<String, String> producer(KafkaProperties kafka) {
        Map<String, Object> config = kafka.buildProducerProperties();
        config.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        // The topics were created a moment ago: with one batch in flight, a retry while a partition's
        // leader is being elected cannot leave the idempotent producer's sequence numbers out of order.
        config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        return new KafkaProducer<>(config);
    }

    /** A read_committed reader of outcomes from the earliest offset, in a group of its own. */
    static KafkaConsumer<String, String> consumer(KafkaProperties kafka, String name) {
        Map<String, Object> config = kafka.buildConsumerProperties();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, name + "-" + UUID.randomUUID());
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return new KafkaConsumer<>(config);
    }
}
