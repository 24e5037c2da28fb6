package io.github.checkout.config;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.boot.context.event.SpringApplicationEvent;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.io.support.SpringFactoriesLoader;

/**
 * Decides what the service runs on before anything connects. Both connection URLs set: the service
 * runs on them. None of the connection settings set: the {@link EmbeddedDefault} on the class path
 * starts and {@code checkout.embedded=true} is set; without one (the production jar) the start fails,
 * naming the settings to set and how to run the demo instead. Half a configuration fails the start,
 * naming what is set and what is missing: one connection URL without the other, or database
 * credentials or Kafka security settings without the URLs, which would otherwise start the embedded
 * default and ignore them. The service never quietly runs half, or wholly, on embedded infrastructure
 * when the operator meant another. The embedded infrastructure stops after the application context
 * has closed.
 */
public final class ConnectionSettings implements ApplicationListener<SpringApplicationEvent>, Ordered {

    static final String NONE_SET = """
            No connection settings. This jar runs the service on your own Kafka and PostgreSQL: set \
            SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL, and SPRING_DATASOURCE_USERNAME and \
            SPRING_DATASOURCE_PASSWORD (README, "Running on your own Kafka and PostgreSQL"). To try it \
            on an embedded Kafka and PostgreSQL with nothing to set, run the demo jar instead: \
            java -jar oversell-proof-checkout-demo.jar, or from the sources: \
            ./mvnw -q spring-boot:run -Dspring-boot.run.arguments="--buyers=1000\"""";

    private static final ConfigurationPropertyName KAFKA_URL = ConfigurationPropertyName.of("spring.kafka.bootstrap-servers");
    private static final ConfigurationPropertyName DATABASE_URL = ConfigurationPropertyName.of("spring.datasource.url");
    private static final ConfigurationPropertyName KAFKA = ConfigurationPropertyName.of("spring.kafka");
    /** Settings that only make sense with a database URL: they name who connects, or where. */
    private static final List<ConfigurationPropertyName> DATABASE_CONNECTION = Stream.of(
            "spring.datasource.username", "spring.datasource.password",
            "spring.datasource.hikari.jdbc-url", "spring.datasource.hikari.username", "spring.datasource.hikari.password",
            "spring.flyway.url", "spring.flyway.user", "spring.flyway.password")
            .map(ConfigurationPropertyName::of).toList();
    /** Words that mark a Kafka setting as part of the connection: security protocol, SASL, TLS, JAAS. */
    private static final Set<String> KAFKA_SECURITY = Set.of("security", "sasl", "ssl", "jaas");

    private final List<EmbeddedDefault> embeddedDefaults;
    private EmbeddedDefault.Running embedded;

    /** With the embedded default the class path registers, if any. */
    public ConnectionSettings() {
        this(SpringFactoriesLoader.forResourceLocation(EmbeddedDefault.FACTORIES).load(EmbeddedDefault.class));
    }

    ConnectionSettings(List<EmbeddedDefault> embeddedDefaults) {
        this.embeddedDefaults = List.copyOf(embeddedDefaults);
    }

    @Override
    public int getOrder() {
        // After the configuration files are read, before logging is initialised.
        return Ordered.HIGHEST_PRECEDENCE + 15;
    }

    @Override
    public void onApplicationEvent(SpringApplicationEvent event) {
        if (event instanceof ApplicationEnvironmentPreparedEvent prepared) {
            ConfigurableEnvironment env = prepared.getEnvironment();
            Set<ConfigurationPropertyName> set = connectionSettings(env);
            if (!set.isEmpty() && !(set.contains(KAFKA_URL) && set.contains(DATABASE_URL))) {
                throw new IllegalStateException(halfConfiguration(set));
            }
            if (set.isEmpty()) {
                if (embeddedDefaults.isEmpty()) {
                    throw new IllegalStateException(NONE_SET);
                }
                embedded = embeddedDefaults.get(0).start(env);
                var properties = new HashMap<>(embedded.springProperties());
                properties.put("checkout.embedded", "true");
                // Keep the demo's terminal readable: the in-process broker and consumers log a lot at info.
                properties.put("logging.level.org.springframework.kafka", "warn");
                properties.put("logging.level.org.apache.kafka", "error");
                properties.put("logging.level.kafka", "error");
                // Like the broker's and the database's, a management port that another process holds is replaced
                // by a free one, and the served demo says which.
                Integer management = env.getProperty("management.server.port", Integer.class);
                if (management != null && management > 0 && isTaken(management)) {
                    properties.put("management.server.port", "0");
                    properties.put("checkout.embedded.management-port-taken", String.valueOf(management));
                }
                env.getPropertySources().addFirst(new MapPropertySource("embeddedInfrastructure", properties));
                // Warnings and errors only, unless asked for more (--logging.level.root=info): of lowest
                // precedence, so that any setting of it wins.
                env.getPropertySources().addLast(new MapPropertySource("embeddedInfrastructureLogging",
                        Map.of("logging.level.root", "warn")));
                // Like its broker and database, the demo's HTTP and management ports answer this machine only,
                // unless set otherwise.
                env.getPropertySources().addLast(new MapPropertySource("embeddedInfrastructureLoopback",
                        Map.of("server.address", "localhost", "management.server.address", "localhost")));
            }
        } else if (event instanceof ApplicationPreparedEvent prepared && embedded != null) {
            EmbeddedDefault.Running started = embedded;
            // Registered before any bean, so destroyed after all of them: consumers stop first.
            ((DefaultListableBeanFactory) prepared.getApplicationContext().getBeanFactory())
                    .registerDisposableBean("embeddedInfrastructure", started::close);
        }
    }

    private static boolean isTaken(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("localhost", port));
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static String halfConfiguration(Set<ConfigurationPropertyName> set) {
        List<String> given = set.stream().map(ConnectionSettings::variable).toList();
        List<String> missing = Stream.of(KAFKA_URL, DATABASE_URL).filter(url -> !set.contains(url))
                .map(ConnectionSettings::variable).toList();
        return "Half a configuration: " + String.join(", ", given) + (given.size() == 1 ? " is" : " are")
                + " set, but " + String.join(" and ", missing) + (missing.size() == 1 ? " is" : " are") + " not."
                + " Set both SPRING_KAFKA_BOOTSTRAP_SERVERS and SPRING_DATASOURCE_URL (and any credentials) to run"
                + " on your own Kafka and PostgreSQL, or none of these settings to run on the embedded default.";
    }

    /** The Kafka and database connection settings the environment sets, in any form (variable, argument, file). */
    static Set<ConfigurationPropertyName> connectionSettings(ConfigurableEnvironment env) {
        Set<ConfigurationPropertyName> set = new LinkedHashSet<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(env)) {
            for (ConfigurationPropertyName name : List.of(KAFKA_URL, DATABASE_URL)) {
                if (source.getConfigurationProperty(name) != null) {
                    set.add(name);
                }
            }
            for (ConfigurationPropertyName name : DATABASE_CONNECTION) {
                if (source.getConfigurationProperty(name) != null) {
                    set.add(name);
                }
            }
            if (source instanceof IterableConfigurationPropertySource iterable) {
                iterable.stream().filter(ConnectionSettings::isKafkaConnection).forEach(set::add);
            }
        }
        return set;
    }

    /**
     * A Kafka security setting ({@code spring.kafka.security.protocol}, {@code spring.kafka.ssl.*},
     * {@code spring.kafka.jaas.*}, {@code spring.kafka.properties.sasl.*}, the same per client), or a
     * client's own bootstrap servers.
     */
    private static boolean isKafkaConnection(ConfigurationPropertyName name) {
        if (!KAFKA.isAncestorOf(name) || name.equals(KAFKA_URL)) {
            return false;
        }
        for (int i = KAFKA.getNumberOfElements(); i < name.getNumberOfElements(); i++) {
            String element = name.getElement(i, ConfigurationPropertyName.Form.UNIFORM);
            // An indexed key such as properties[sasl.jaas.config] is one element holding dots.
            String first = element.contains(".") ? element.substring(0, element.indexOf('.')) : element;
            if (KAFKA_SECURITY.contains(first)) {
                return true;
            }
        }
        return name.getLastElement(ConfigurationPropertyName.Form.UNIFORM).equals("bootstrapservers");
    }

    /** The environment variable that sets the property: SPRING_DATASOURCE_USERNAME for spring.datasource.username. */
    private static String variable(ConfigurationPropertyName name) {
        return name.toString().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_")
                .replaceAll("_$", "");
    }
}
