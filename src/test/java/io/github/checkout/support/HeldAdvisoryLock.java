package io.github.checkout.support;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * An advisory lock held on a connection of the test's own, for as long as the test wants: what a key held by
 * {@link IntegrationTestSupport#refuseAndHoldKeys} waits on, so that a batch stays in flight until it is closed.
 */
public record HeldAdvisoryLock(long lock, SingleConnectionDataSource connection, JdbcClient db) implements AutoCloseable {

    public static HeldAdvisoryLock take(long lock) {
        SingleConnectionDataSource connection = Concurrently.connection();
        JdbcClient db = JdbcClient.create(connection);
        db.sql("select pg_advisory_lock(:lock)").param("lock", lock).query().singleValue();
        return new HeldAdvisoryLock(lock, connection, db);
    }

    /** Whether some transaction waits for the lock. */
    public boolean somebodyWaits() {
        return db.sql("""
                select count(*) > 0 from pg_locks
                where locktype = 'advisory' and objid = :lock and not granted""")
                .param("lock", lock).query(Boolean.class).single();
    }

    @Override
    public void close() {
        db.sql("select pg_advisory_unlock(:lock)").param("lock", lock).query().singleValue();
        connection.destroy();
    }
}
