package io.github.checkout.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import org.netcrusher.core.reactor.NioReactor;
import org.netcrusher.tcp.TcpCrusher;
import org.netcrusher.tcp.TcpCrusherBuilder;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * A TCP proxy between the service and the test PostgreSQL. {@link #cut()} closes every connection and
 * refuses new ones, as when the database stops; {@link #restore()} lets connections through again.
 */
public final class DatabaseProxy implements AutoCloseable {

    private final NioReactor reactor;
    private final TcpCrusher crusher;
    private final String jdbcUrl;

    private DatabaseProxy() throws IOException {
        URI target = URI.create(TestInfrastructure.jdbcUrl().substring("jdbc:".length()));
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        reactor = new NioReactor();
        crusher = TcpCrusherBuilder.builder().withReactor(reactor)
                .withBindAddress("127.0.0.1", port)
                .withConnectAddress(target.getHost(), target.getPort())
                .buildAndOpen();
        jdbcUrl = "jdbc:postgresql://127.0.0.1:" + port + target.getPath() + (target.getQuery() == null ? "" : "?" + target.getQuery());
    }

    /** Opens a proxy and points the service's connection pool at it. */
    public static DatabaseProxy forService(DynamicPropertyRegistry registry) {
        try {
            DatabaseProxy proxy = new DatabaseProxy();
            // Bound onto the pool after spring.datasource.url, so it wins over the shared infrastructure's URL.
            registry.add("spring.datasource.hikari.jdbc-url", () -> proxy.jdbcUrl);
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void cut() {
        crusher.close();
    }

    public void restore() {
        crusher.open();
    }

    @Override
    public void close() {
        crusher.close();
        reactor.close();
    }
}
