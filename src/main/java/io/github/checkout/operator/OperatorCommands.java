package io.github.checkout.operator;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.Banner;
import org.springframework.boot.DefaultApplicationArguments;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.dao.DataAccessException;

/**
 * The operator commands, run as modes of the service's jar against the configured database
 * ({@code SPRING_DATASOURCE_URL} etc.): {@code audit} checks every invariant and prints a report,
 * {@code restock} changes an item's stock through the ledger. In this mode the Kafka listeners stay
 * stopped and no topic is created, so no broker is needed. Exit codes: 0 done and sound, 1 the audit
 * found violations or the database refused the restock, 2 wrong usage.
 */
public final class OperatorCommands {

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    private static final Set<String> COMMANDS = Set.of("audit", "restock");
    private static final String USAGE_TEXT = """
            Usage:
              audit                                   check the database's invariants, exit 1 naming each violation
              restock --item=<uuid> --delta=<n> --operator=<name> [--note=<text>]
                                                      add n units (negative n: a correction, never below zero)""";

    private final StockOperations stock;
    private final PrintStream out;
    private final PrintStream err;

    public OperatorCommands(StockOperations stock, PrintStream out, PrintStream err) {
        this.stock = stock;
        this.out = out;
        this.err = err;
    }

    /** True when the first argument that is not an option names a command. */
    public static boolean isCommand(String... args) {
        List<String> words = new DefaultApplicationArguments(args).getNonOptionArgs();
        return !words.isEmpty() && COMMANDS.contains(words.get(0));
    }

    /** Starts the application in command mode, runs the command, stops, and returns the exit code. */
    public static int run(Class<?> application, String... args) {
        SpringApplication app = new SpringApplication(application);
        app.setWebApplicationType(WebApplicationType.NONE);
        app.setBannerMode(Banner.Mode.OFF);
        app.setLogStartupInfo(false);
        app.setDefaultProperties(Map.of(
                "spring.kafka.listener.auto-startup", "false",
                "spring.kafka.admin.auto-create", "false",
                "logging.level.root", "warn"));
        ConfigurableApplicationContext context;
        try {
            context = app.run(args);
        } catch (RuntimeException e) {
            // Spring Boot has reported why the application could not start.
            return FAILED;
        }
        try (context) {
            return new OperatorCommands(context.getBean(StockOperations.class), System.out, System.err).execute(args);
        }
    }

    public int execute(String... args) {
        ApplicationArguments arguments = new DefaultApplicationArguments(args);
        List<String> words = arguments.getNonOptionArgs();
        if (words.isEmpty() || !COMMANDS.contains(words.get(0))) {
            err.println(USAGE_TEXT);
            return USAGE;
        }
        try {
            return words.get(0).equals("audit") ? audit() : restock(arguments);
        } catch (DataAccessException e) {
            err.println(words.get(0) + " could not run: " + firstLine(e));
            return FAILED;
        }
    }

    private int audit() {
        List<StockOperations.Violation> violations = stock.audit();
        Map<String, List<String>> byCheck = new LinkedHashMap<>();
        stock.checks().forEach(check -> byCheck.put(check, new ArrayList<>()));
        violations.forEach(v -> byCheck.computeIfAbsent(v.check(), c -> new ArrayList<>()).add(v.detail()));
        out.println("Audit of the checkout database");
        byCheck.forEach((check, details) -> {
            out.printf("  %-26s %s%n", check, details.isEmpty() ? "ok" : "VIOLATED (" + details.size() + ")");
            details.forEach(detail -> out.println("      " + check + ": " + detail));
        });
        if (violations.isEmpty()) {
            out.println("All " + byCheck.size() + " checks hold.");
            return OK;
        }
        out.println(violations.size() + " violation(s) found.");
        return FAILED;
    }

    private int restock(ApplicationArguments arguments) {
        String item = option(arguments, "item");
        String delta = option(arguments, "delta");
        String operator = option(arguments, "operator");
        if (item == null || delta == null || operator == null || operator.isBlank()) {
            err.println("restock needs --item, --delta and --operator.");
            err.println(USAGE_TEXT);
            return USAGE;
        }
        UUID itemId;
        int amount;
        try {
            itemId = UUID.fromString(item);
            amount = Integer.parseInt(delta);
        } catch (IllegalArgumentException e) {
            err.println("restock: --item must be a UUID and --delta an integer (" + e.getMessage() + ").");
            return USAGE;
        }
        try {
            int now = stock.restock(itemId, amount, operator, option(arguments, "note"));
            out.printf("%s item %s by %+d: stock is now %d (ledger: %s by %s).%n",
                    amount > 0 ? "Restocked" : "Corrected", itemId, amount, now,
                    amount > 0 ? "restock" : "correction", operator.strip());
            return OK;
        } catch (DataAccessException e) {
            err.println("restock refused, nothing changed: " + firstLine(e));
            return FAILED;
        }
    }

    /** PostgreSQL's message without the lines of context it appends. */
    private static String firstLine(DataAccessException e) {
        return String.valueOf(e.getMostSpecificCause().getMessage()).lines().findFirst().orElse("");
    }

    private static String option(ApplicationArguments arguments, String name) {
        List<String> values = arguments.getOptionValues(name);
        return values == null || values.isEmpty() ? null : values.get(values.size() - 1);
    }
}
