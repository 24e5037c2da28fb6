package io.github.checkout.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.TestInfrastructure;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/** The benchmark's own code at a tiny size, so that the tool cannot rot: every mode, carts and holds too, its checks and its files. */
class BenchmarkIT {

    @Test
    void tinyRunOfEveryMode_passesEveryCheckAndWritesItsFiles(@TempDir Path out) throws Exception {
        Map<String, Object> infrastructure = TestInfrastructure.springProperties();
        String user = (String) infrastructure.get("spring.datasource.username");
        String password = (String) infrastructure.get("spring.datasource.password");
        try (var connection = new SingleConnectionDataSource(TestInfrastructure.jdbcUrl(), user, password, true)) {
            JdbcClient admin = JdbcClient.create(connection);
            // Per-batch figures come from pg_stat_user_functions; connections opened from now on keep them.
            admin.sql("do $$ begin execute format('alter database %I set track_functions = ''pl''', current_database()); end $$")
                    .update();
            var database = new JdbcLoad.Database(TestInfrastructure.jdbcUrl(), user, password);
            var tuning = new ServiceUnderTest.Tuning(100, 2, 2, 4);
            // Baseline (b) takes one Kafka transaction per request: a few dozen requests are enough to see it.
            var batched = new Bench.Plan(List.of(Scenario.FLASH, Scenario.ZIPF, Scenario.CART, Scenario.UNIFORM, Scenario.HOLD),
                    List.of(Mode.SERVICE, Mode.DEFAULT, Mode.JDBC), Map.of(Scenario.FLASH, 150, Scenario.ZIPF, 200, Scenario.CART, 100,
                    Scenario.UNIFORM, 100, Scenario.HOLD, 100), 50, 100, 20, 100, Duration.ofSeconds(1),
                    Duration.ofSeconds(20), Duration.ofSeconds(20), 0, Duration.ZERO, tuning, 7);
            var unbatched = new Bench.Plan(List.of(Scenario.ZIPF), List.of(Mode.UNBATCHED), Map.of(Scenario.ZIPF, 40), 50,
                    100, 20, 100, Duration.ofSeconds(1), Duration.ofSeconds(20), Duration.ofSeconds(20), 0, Duration.ZERO, tuning, 7);

            List<Result> results = new ArrayList<>(new Bench(infrastructure, database, admin, batched, System.out).run());
            results.addAll(new Bench(infrastructure, database, admin, unbatched, System.out).run());
            results = Report.withRatios(results);

            // Baseline (a) skips the holds: 5 scenarios x 3 modes - 1, and baseline (b)'s one.
            assertThat(results).hasSize(15).allSatisfy(r -> assertThat(r.checks()).allMatch(Checks.Check::passed));
            assertThat(results).allSatisfy(r -> assertThat(r.decided()).isEqualTo(r.requests()));
            assertThat(results).filteredOn(r -> r.scenario().equals("zipf")).allSatisfy(r ->
                    assertThat(r.distinctKeys()).isLessThan(r.requests()));
            assertThat(results).filteredOn(r -> r.scenario().equals("flash")).map(Result::orders).containsOnly(100L);
            // Carts of 1 to 5 lines, each with the stock it asks for: every cart an order, 3 lines on average.
            assertThat(results).filteredOn(r -> r.scenario().equals("cart")).hasSize(3).allSatisfy(r -> {
                assertThat(r.orders()).isEqualTo(r.requests());
                assertThat(r.lines()).isBetween(2L * r.requests(), 4L * r.requests());
                assertThat(r.linesPerSecond()).isGreaterThan(r.perSecond());
            });
            // Holds: 80% confirmed into an order, the rest expired and announced; both endings occur.
            assertThat(results).filteredOn(r -> r.scenario().equals("hold")).extracting(Result::mode)
                    .containsExactlyInAnyOrder(Mode.SERVICE.label, Mode.DEFAULT.label);
            assertThat(results).filteredOn(r -> r.scenario().equals("hold")).allSatisfy(r -> {
                assertThat(r.orders()).isPositive().isEqualTo(r.requests() - r.expired());
                assertThat(r.expired()).isPositive();
                assertThat(r.checks()).extracting(Checks.Check::name)
                        .contains("each hold ended once", "holds in the database", "nothing held at the end", "audit clean");
            });
            // The target is computed against the uniform scenario (its verdict at this size says nothing).
            assertThat(Report.targets(results)).filteredOn(t -> t.target().startsWith("holds:"))
                    .singleElement().satisfies(t -> assertThat(t.status()).isIn("MET", "NOT MET"));
            assertThat(Report.find(results, "zipf", Mode.UNBATCHED)).get()
                    .satisfies(r -> assertThat(r.batches().requestsPerBatch()).isEqualTo(1.0))
                    .satisfies(r -> assertThat(r.commitsPerRequest()).isGreaterThanOrEqualTo(1.0));
            assertThat(Report.find(results, "zipf", Mode.SERVICE)).get()
                    .satisfies(r -> assertThat(r.vsBaselineA()).isNotNull())
                    .satisfies(r -> assertThat(r.vsBaselineB()).isNotNull());
            assertThat(Report.find(results, "zipf", Mode.DEFAULT)).get()
                    .satisfies(r -> assertThat(r.vsBaselineA()).isNotNull());
            // Two instances ran at once: each one's Kafka transaction times are its own.
            assertThat(results).filteredOn(r -> r.batches() != null).allSatisfy(r ->
                    assertThat(r.batches().commitMs()).as("%s %s", r.scenario(), r.mode()).isPositive());

            Report.writeCsv(results, out.resolve("results.csv"));
            Report.writeJson(Map.of("cpu", "test"), Map.of(), results, Report.targets(results), out.resolve("results.json"));
            Report.writeChart(results, out.resolve("benchmark.png"));
            assertThat(out.resolve("results.csv")).content().contains("zipf,\"(b) batching off\"");
            assertThat(out.resolve("results.json")).content().contains("\"targets\"");
            assertThat(out.resolve("benchmark.png")).isNotEmptyFile();
        }
    }
}
