package io.github.checkout.bench;

import java.lang.management.ManagementFactory;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Where the service's time goes, per poll batch: how many decide_purchases calls (one per batch) and how long they
 * took inside PostgreSQL ({@code pg_stat_user_functions}, kept when {@code track_functions=pl}), and how long
 * its transactional producers spent committing and adding the offsets (Kafka producer metrics over JMX).
 */
record Inside(long batches, double databaseMillis, double commitMillis, double sendOffsetsMillis) {

    static final Inside NONE = new Inside(0, 0, 0, 0);

    /** The counters now. Database figures are as fresh as the last statistics flush. */
    static Inside read(JdbcClient db) {
        var row = db.sql("""
                        select coalesce(sum(calls), 0) as calls, coalesce(sum(total_time), 0) as ms
                        from pg_stat_user_functions where funcname = 'decide_purchases'""")
                .query().singleRow();
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        double commitNanos = 0;
        double offsetsNanos = 0;
        try {
            for (ObjectName name : server.queryNames(new ObjectName("kafka.producer:type=producer-metrics,client-id=*"), null)) {
                commitNanos += number(server, name, "txn-commit-time-ns-total");
                offsetsNanos += number(server, name, "txn-send-offsets-time-ns-total");
            }
        } catch (javax.management.JMException e) {
            // no metrics, no figures: the columns read 0
        }
        return new Inside(((Number) row.get("calls")).longValue(), ((Number) row.get("ms")).doubleValue(),
                commitNanos / 1e6, offsetsNanos / 1e6);
    }

    Inside minus(Inside before) {
        // A producer closed during the run takes its totals with it; never report less than nothing.
        return new Inside(Math.max(0, batches - before.batches), Math.max(0, databaseMillis - before.databaseMillis),
                Math.max(0, commitMillis - before.commitMillis), Math.max(0, sendOffsetsMillis - before.sendOffsetsMillis));
    }

    double perBatch(double total) {
        return batches == 0 ? Double.NaN : total / batches;
    }

    private static double number(MBeanServer server, ObjectName name, String attribute) {
        try {
            return server.getAttribute(name, attribute) instanceof Number n && !Double.isNaN(n.doubleValue()) ? n.doubleValue() : 0;
        } catch (javax.management.JMException e) {
            return 0;
        }
    }
}
