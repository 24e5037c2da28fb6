package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.support.Prometheus;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * No Docker engine runs in CI, so the monitoring of docker-compose.yml is checked by reading it: Prometheus
 * scrapes the processor where the service serves its metrics (application.yml's management settings), and
 * Grafana is provisioned with that Prometheus and the dashboard. That every metric the dashboard queries is
 * exported is MetricsIT's to check, against the running service.
 */
class MonitoringTest {

    private final Map<String, Object> services = map(yaml(Path.of("docker-compose.yml")).get("services"));

    @Test
    void prometheusScrapesTheProcessorsManagementPortAtItsPrometheusEndpoint() {
        Map<String, Object> management = map(yaml(Path.of("src/main/resources/application.yml")).get("management"));
        Object port = map(management.get("server")).get("port");
        Map<String, Object> web = map(map(management.get("endpoints")).get("web"));
        String basePath = (String) web.getOrDefault("base-path", "/actuator");
        assertThat((String) map(web.get("exposure")).get("include")).contains("prometheus");

        List<Object> jobs = list(yaml(Prometheus.SCRAPE_CONFIG).get("scrape_configs"));
        assertThat(jobs).hasSize(1);
        Map<String, Object> job = map(jobs.get(0));
        assertThat(job.get("metrics_path")).isEqualTo(basePath + "/prometheus");
        List<Object> targets = list(map(list(job.get("static_configs")).get(0)).get("targets"));
        assertThat(targets).containsExactly("processor:" + port);
        assertThat(services).containsKey("processor");
        assertThat(list(service("processor").get("ports"))).contains(port + ":" + port);

        // The configuration Prometheus reads is this file.
        assertThat(list(service("prometheus").get("command"))).contains("--config.file=/etc/prometheus/prometheus.yml");
        assertThat(list(service("prometheus").get("volumes")))
                .contains("./" + Prometheus.SCRAPE_CONFIG + ":/etc/prometheus/prometheus.yml:ro");
        // And the alerts it loads are alerts.yml.
        assertThat(list(yaml(Prometheus.SCRAPE_CONFIG).get("rule_files"))).containsExactly("/etc/prometheus/alerts.yml");
        assertThat(list(service("prometheus").get("volumes")))
                .contains("./" + Prometheus.ALERTS + ":/etc/prometheus/alerts.yml:ro");
    }

    @Test
    void grafanaIsProvisionedWithThatPrometheusAndTheDashboard() {
        List<Object> volumes = list(service("grafana").get("volumes"));
        assertThat(volumes).contains("./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro");
        Path provisioning = Path.of("monitoring/grafana/provisioning");

        Map<String, Object> datasource = map(list(yaml(provisioning.resolve("datasources/prometheus.yml"))
                .get("datasources")).get(0));
        URI url = URI.create((String) datasource.get("url"));
        assertThat(services).containsKey(url.getHost());
        assertThat(url.getPort()).isEqualTo(9090);
        assertThat(list(service(url.getHost()).get("ports"))).contains("9090:9090");

        String dashboards = (String) map(map(list(yaml(provisioning.resolve("dashboards/checkout.yml"))
                .get("providers")).get(0)).get("options")).get("path");
        assertThat(volumes).contains("./" + Prometheus.DASHBOARD.getParent() + ":" + dashboards + ":ro");
        assertThat(map(service("grafana").get("environment")))
                .containsEntry("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", dashboards + "/" + Prometheus.DASHBOARD.getFileName());

        // Every panel and query reads the provisioned datasource.
        JsonNode dashboard = JsonMapper.builder().build().readTree(read(Prometheus.DASHBOARD));
        assertThat(dashboard.path("panels")).isNotEmpty().allSatisfy(panel -> {
            assertThat(panel.path("datasource").path("uid").asString()).isEqualTo(datasource.get("uid"));
            assertThat(panel.path("targets")).isNotEmpty().allSatisfy(target ->
                    assertThat(target.path("datasource").path("uid").asString()).isEqualTo(datasource.get("uid")));
        });
    }

    @Test
    void theMetricNamesOfAQuery_areItsSelectorsNotItsFunctionsLabelsOrDurations() {
        assertThat(Prometheus.metricNames("""
                histogram_quantile(0.99, sum by (le, path) (rate(checkout_request_latency_seconds_bucket{path="x y"}[$__rate_interval])))"""))
                .containsExactly("checkout_request_latency_seconds_bucket");
        assertThat(Prometheus.metricNames(
                "sum(rate(a_sum[5m])) by (path) / on (path) group_left sum(rate(a_count[1m] offset 5m)) > bool 0.5e3"))
                .containsExactly("a_sum", "a_count");
        assertThat(Prometheus.metricNames("max by (client_id) (kafka_consumer_fetch_manager_records_lag_max) or vector(0)"))
                .containsExactly("kafka_consumer_fetch_manager_records_lag_max");
        assertThat(Prometheus.metricNames("checkout_partitions_stalled{path=~\"p.*\"}")).containsExactly("checkout_partitions_stalled");
    }

    @Test
    void theDashboardShowsWhatAnOperatorNeeds() {
        Map<String, List<String>> queries = Prometheus.dashboardQueries(read(Prometheus.DASHBOARD));
        String all = String.join("\n", queries.values().stream().flatMap(List::stream).toList());
        assertThat(all).contains("checkout_decisions_total", "checkout_dead_letters_total",
                "kafka_consumer_fetch_manager_records_lag_max", "histogram_quantile(0.5, sum by (le, path) (rate(checkout_request_latency_seconds_bucket",
                "histogram_quantile(0.99, sum by (le, path) (rate(checkout_request_latency_seconds_bucket",
                "checkout_batch_size", "checkout_database_calls_seconds", "checkout_partitions_stalled");
    }

    private Map<String, Object> service(String name) {
        assertThat(services).containsKey(name);
        return map(services.get(name));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Object> yaml(Path file) {
        try (Reader reader = Files.newBufferedReader(file)) {
            return new Yaml().load(reader);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value) {
        return (List<Object>) value;
    }
}
