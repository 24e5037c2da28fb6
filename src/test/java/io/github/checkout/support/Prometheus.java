package io.github.checkout.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the monitoring tests read: the Prometheus text a service exports (its samples and metric types), and the
 * metric names that PromQL expressions, such as the Grafana dashboard's and the alerts', query.
 */
public final class Prometheus {

    public static final Path DASHBOARD = Path.of("monitoring/grafana/dashboards/checkout.json");
    public static final Path SCRAPE_CONFIG = Path.of("monitoring/prometheus.yml");
    public static final Path ALERTS = Path.of("monitoring/alerts.yml");

    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    private static final Pattern GROUPING = Pattern.compile(
            "\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.$])[A-Za-z_:][A-Za-z0-9_:]*");
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "and", "or", "unless", "inf", "nan", "atan2");
    private static final Pattern SAMPLE = Pattern.compile("^([A-Za-z_:][A-Za-z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)");
    private static final Pattern LABEL = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final Pattern TYPE = Pattern.compile("^# TYPE (\\S+) (\\S+)");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private Prometheus() {
    }

    /** One sample of the exposition. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    /** A scrape: its samples, and each metric family's type as its {@code # TYPE} line names it. */
    public record Scrape(List<Sample> samples, Map<String, String> types) {

        public Set<String> names() {
            Set<String> names = new LinkedHashSet<>();
            samples.forEach(s -> names.add(s.name()));
            return names;
        }

        /** The sum of the samples named {@code name} that carry all of {@code labels}; 0 when there is none. */
        public double value(String name, Map<String, String> labels) {
            return samples.stream()
                    .filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
                    .mapToDouble(Sample::value).sum();
        }

        public long count(String name, Map<String, String> labels) {
            return samples.stream()
                    .filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
                    .count();
        }

        /**
         * The type of the family a queried name belongs to: {@code x_bucket}, {@code x_count} and {@code x_sum} are
         * samples of the histogram or summary {@code x}, {@code x_total} of the counter {@code x}, whether the exposition
         * names the family with the suffix (Prometheus text) or without it (OpenMetrics). Null when unknown.
         */
        public String typeOf(String name) {
            if (types.containsKey(name)) {
                return types.get(name);
            }
            for (String suffix : List.of("_bucket", "_count", "_sum", "_total", "_created")) {
                if (name.endsWith(suffix)) {
                    String family = name.substring(0, name.length() - suffix.length());
                    if (types.containsKey(family)) {
                        return types.get(family);
                    }
                }
            }
            return null;
        }

        /**
         * Why a queried name is not one this scrape serves, or null when it is: no sample has the name, or its
         * suffix does not fit the family's type ({@code _bucket} of a histogram, {@code _total} of a counter,
         * {@code _count} and {@code _sum} of a histogram or summary).
         */
        public String problemWith(String name) {
            if (!names().contains(name)) {
                return name + ": no such metric is exported";
            }
            String type = typeOf(name);
            boolean fits = name.endsWith("_bucket") ? "histogram".equals(type)
                    : name.endsWith("_count") || name.endsWith("_sum") ? "histogram".equals(type) || "summary".equals(type)
                    : !name.endsWith("_total") || "counter".equals(type);
            return fits ? null : name + ": a sample of a " + type + ", which the suffix does not fit";
        }
    }

    public static Scrape scrape(String url) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                // What Prometheus itself asks for: OpenMetrics first.
                .header("Accept", "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5")
                .build();
        try {
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException(url + " answered " + response.statusCode() + ": " + response.body());
            }
            return parse(response.body());
        } catch (IOException e) {
            throw new IllegalStateException("could not scrape " + url, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static Scrape parse(String exposition) {
        List<Sample> samples = new ArrayList<>();
        Map<String, String> types = new HashMap<>();
        for (String line : exposition.lines().toList()) {
            Matcher type = TYPE.matcher(line);
            if (type.find()) {
                types.put(type.group(1), type.group(2));
            }
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher sample = SAMPLE.matcher(line);
            if (!sample.find()) {
                throw new IllegalArgumentException("not a sample: " + line);
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (sample.group(2) != null) {
                Matcher label = LABEL.matcher(sample.group(2));
                while (label.find()) {
                    labels.put(label.group(1), label.group(2));
                }
            }
            samples.add(new Sample(sample.group(1), labels, Double.parseDouble(sample.group(3).replace("Inf", "Infinity"))));
        }
        return new Scrape(samples, types);
    }

    /**
     * The metric names a PromQL expression selects: what is left once strings, label matchers, range and
     * subquery brackets and grouping clauses are taken out, less function names (followed by a parenthesis),
     * keywords and numbers.
     */
    public static Set<String> metricNames(String promql) {
        String expression = STRING.matcher(promql).replaceAll("\"\"");
        expression = MATCHERS.matcher(expression).replaceAll(" ");
        expression = RANGE.matcher(expression).replaceAll(" ");
        expression = GROUPING.matcher(expression).replaceAll(" ");
        Set<String> names = new LinkedHashSet<>();
        Matcher identifier = IDENTIFIER.matcher(expression);
        while (identifier.find()) {
            String name = identifier.group();
            String rest = expression.substring(identifier.end()).stripLeading();
            if (!rest.startsWith("(") && !KEYWORDS.contains(name.toLowerCase())) {
                names.add(name);
            }
        }
        return names;
    }

    /** Every PromQL expression of a Grafana dashboard's panels, those in rows included, by panel title. */
    public static Map<String, List<String>> dashboardQueries(String json) {
        Map<String, List<String>> queries = new LinkedHashMap<>();
        collect(JsonMapper.builder().build().readTree(json).path("panels"), queries);
        return queries;
    }

    /** Every alerting rule's PromQL expression, by alert name. */
    @SuppressWarnings("unchecked")
    public static Map<String, List<String>> alertQueries(String yaml) {
        Map<String, List<String>> queries = new LinkedHashMap<>();
        Map<String, Object> rules = new Yaml().load(yaml);
        for (Object group : (List<Object>) rules.get("groups")) {
            for (Object rule : (List<Object>) ((Map<String, Object>) group).get("rules")) {
                Map<String, Object> alert = (Map<String, Object>) rule;
                queries.computeIfAbsent("alert " + alert.get("alert"), a -> new ArrayList<>()).add((String) alert.get("expr"));
            }
        }
        return queries;
    }

    private static void collect(JsonNode panels, Map<String, List<String>> queries) {
        for (JsonNode panel : panels) {
            for (JsonNode target : panel.path("targets")) {
                if (target.hasNonNull("expr")) {
                    queries.computeIfAbsent(panel.path("title").asString(), t -> new ArrayList<>()).add(target.get("expr").asString());
                }
            }
            collect(panel.path("panels"), queries);
        }
    }
}
