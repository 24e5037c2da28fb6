package io.github.checkout.support;

import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * An item's row lock, held by an open transaction on a connection of its own, so that calls needing
 * that row queue behind it and overlap for certain once {@link #release() released}.
 */
public final class HeldRowLock implements AutoCloseable {

    private final SingleConnectionDataSource connection = Concurrently.connection();
    private final JdbcClient db = JdbcClient.create(connection);
    /** Autocommit, apart from the holder: a transaction sees pg_stat_activity as it was at its first look. */
    private final SingleConnectionDataSource watcher = Concurrently.connection();

    private HeldRowLock(UUID item) throws SQLException {
        connection.getConnection().setAutoCommit(false);
        db.sql("select id from items where id = :id for update").param("id", item).query().singleValue();
    }

    public static HeldRowLock onItem(UUID item) throws SQLException {
        return new HeldRowLock(item);
    }

    /**
     * Waits, ten seconds at most, until exactly {@code count} other backends wait on a lock while running
     * a statement containing {@code statement}; fails otherwise.
     */
    public void awaitWaiters(int count, String statement) {
        await(count + " backends running " + statement + " waiting on a lock").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> JdbcClient.create(watcher).sql("""
                        select count(*) from pg_stat_activity
                        where datname = current_database()
                          and wait_event_type = 'Lock' and strpos(query, :statement) > 0""")
                        .param("statement", statement).query(Integer.class).single() == count);
    }

    /** Commits the holding transaction, letting the waiters go. */
    public void release() throws SQLException {
        connection.getConnection().commit();
    }

    /** Ends the holding transaction, rolled back if it was not released, and its connection. */
    @Override
    public void close() {
        connection.destroy();
        watcher.destroy();
    }
}
