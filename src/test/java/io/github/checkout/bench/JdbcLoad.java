package io.github.checkout.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import me.tongfei.progressbar.ProgressBar;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * Baseline (a), the classic synchronous checkout: every request is one call of {@code place_order} (lock the
 * item row, decrement, insert the order, commit), a cart one call of {@code decide_purchases} with a batch of
 * one, from one of {@code threads} concurrent JDBC connections in autocommit mode. Latency is the duration of the call, or at a fixed rate the time from when it was due.
 */
final class JdbcLoad {

    static final int THREADS = 32;

    private JdbcLoad() {
    }

    /** The database to connect to. */
    record Database(String url, String username, String password) {
    }

    static Run run(Database database, Workload workload, int threads, int ratePerSecond, Duration sendFor,
                   ProgressBar progress) throws Exception {
        Observed observed = new Observed(workload);
        int n = workload.deliveries();
        AtomicInteger next = new AtomicInteger();
        AtomicLong lastDone = new AtomicLong();
        CountDownLatch connected = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        long[] first = new long[1];
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            futures.add(pool.submit(() -> {
                var connection = new SingleConnectionDataSource(database.url(), database.username(), database.password(), true);
                try {
                    JdbcClient db = JdbcClient.create(connection);
                    db.sql("select 1").query().singleValue();
                    connected.countDown();
                    go.await();
                    long stopAt = sendFor == null ? 0 : first[0] + sendFor.toNanos();
                    double interval = ratePerSecond > 0 ? 1e9 / ratePerSecond : 0;
                    int d;
                    while ((sendFor == null || System.nanoTime() - stopAt < 0) && (d = next.getAndIncrement()) < n) {
                        long start;
                        if (interval > 0) {
                            start = first[0] + (long) (d * interval);
                            long wait;
                            while ((wait = start - System.nanoTime()) > 0) {
                                LockSupport.parkNanos(wait);
                            }
                        } else {
                            start = System.nanoTime();
                        }
                        observed.started(d, start);
                        int key = workload.keyOf(d);
                        Object[] row = decide(db, workload, key);
                        long done = System.nanoTime();
                        observed.answerDelivery(d, Observed.Kind.valueOf((String) row[0]), (UUID) row[1], done);
                        lastDone.accumulateAndGet(done, Math::max);
                        if ((d & 255) == 0) {
                            progress.stepTo(observed.seen());
                        }
                    }
                    // Publish this connection's transaction counts before it goes, for the commit figure.
                    db.sql("select pg_stat_force_next_flush()").query().singleValue();
                } finally {
                    connection.destroy();
                }
                return null;
            }));
        }
        connected.await();
        long cpuBefore = Probes.machineBusyMillis();
        first[0] = System.nanoTime();
        go.countDown();
        long errors = 0;
        for (Future<?> future : futures) {
            try {
                future.get();
            } catch (java.util.concurrent.ExecutionException e) {
                errors++;
                System.err.println("baseline (a) call failed: " + e.getCause());
            }
        }
        pool.shutdown();
        long cpu = cpuBefore < 0 ? -1 : Probes.machineBusyMillis() - cpuBefore;
        int sent = Math.min(next.get(), n);
        progress.maxHint(sent);
        progress.stepTo(observed.seen());
        double offered = sent / Math.max(1e-9, (lastDone.get() - first[0]) / 1e9);
        return new Run(observed, sent, first[0], lastDone.get(), lastDone.get(), errors, offered, errors == 0, cpu);
    }

    /** One call: {@code place_order} for a single item, {@code decide_purchases} with a batch of one for a cart. */
    private static Object[] decide(JdbcClient db, Workload workload, int key) {
        JdbcClient.StatementSpec call;
        if (workload.carts()) {
            UUID[] items = workload.lineItems(key);
            Integer[] ones = new Integer[items.length];
            Arrays.fill(ones, 1);
            call = db.sql("""
                            select outcome, order_id
                            from decide_purchases(array[:key], array[:user]::uuid[], array[true], :lineOf, :items, :quantities)""")
                    .param("lineOf", ones)
                    .param("items", items)
                    .param("quantities", ones);
        } else {
            call = db.sql("select outcome, order_id from place_order(:key, :user, :item, 1)")
                    .param("item", workload.item(key));
        }
        return call.param("key", workload.key(key))
                .param("user", workload.user(key))
                .query((rs, i) -> new Object[] {rs.getString(1), rs.getObject(2, UUID.class)})
                .single();
    }
}
