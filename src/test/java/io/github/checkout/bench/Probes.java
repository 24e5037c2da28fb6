package io.github.checkout.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Whole-machine CPU time from {@code /proc/stat} and committed transactions from {@code pg_stat_database}:
 * the two cost figures of a run, read before and after it.
 */
final class Probes {

    private static final Path PROC_STAT = Path.of("/proc/stat");
    private static final long CLOCK_TICKS_PER_SECOND = clockTicks();

    private Probes() {
    }

    /**
     * Busy CPU time of the whole machine so far (user, nice, system, irq, softirq, steal; not idle or iowait) in
     * milliseconds, or -1 where {@code /proc/stat} does not exist. Covers broker, database, service and load
     * generator alike, and anything else the machine runs at the time.
     */
    static long machineBusyMillis() {
        try {
            for (String line : Files.readAllLines(PROC_STAT)) {
                if (line.startsWith("cpu ")) {
                    String[] f = line.trim().split("\\s+");
                    long busy = 0;
                    for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                        busy += i < f.length ? Long.parseLong(f[i]) : 0;
                    }
                    return busy * 1000 / CLOCK_TICKS_PER_SECOND;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Transactions committed in the current database so far. Each backend publishes its counts at most once a
     * second, so callers first make every connection of interest flush ({@code pg_stat_force_next_flush()}).
     */
    static long committedTransactions(JdbcClient db) {
        db.sql("select pg_stat_force_next_flush()").query().singleValue();
        return db.sql("select xact_commit from pg_stat_database where datname = current_database()")
                .query(Long.class).single();
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder(List.of("getconf", "CLK_TCK")).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 ? Long.parseLong(out) : 100;
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }
}
