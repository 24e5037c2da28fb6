package io.github.checkout.support;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * Calls the database from many threads at the same instant, each on a connection of its own outside
 * the application's pool, in autocommit mode. Any exception (a deadlock, say) fails the caller.
 */
public final class Concurrently {

    /** One call on the calling thread's own connection. */
    public interface Call<T> {
        T run(JdbcClient db, int thread, int i) throws Exception;
    }

    private Concurrently() {
    }

    /** Runs {@code callsEach} calls on each of {@code threads} threads, released together; returns every result. */
    public static <T> List<T> onOwnConnections(int threads, int callsEach, Call<T> call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<T>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                Callable<List<T>> task = () -> {
                    SingleConnectionDataSource connection = connection();
                    try {
                        JdbcClient db = JdbcClient.create(connection);
                        db.sql("select 1").query().singleValue();
                        start.await();
                        List<T> mine = new ArrayList<>();
                        for (int i = 0; i < callsEach; i++) {
                            mine.add(call.run(db, thread, i));
                        }
                        return mine;
                    } finally {
                        connection.destroy();
                    }
                };
                futures.add(pool.submit(task));
            }
            start.countDown();
            List<T> all = new ArrayList<>();
            for (var future : futures) {
                all.addAll(future.get());
            }
            return all;
        } finally {
            pool.shutdown();
        }
    }

    /** A connection of its own to the test database, outside the application's pool. */
    public static SingleConnectionDataSource connection() {
        return new SingleConnectionDataSource(TestInfrastructure.jdbcUrl(),
                (String) TestInfrastructure.springProperties().get("spring.datasource.username"),
                (String) TestInfrastructure.springProperties().get("spring.datasource.password"), true);
    }
}
