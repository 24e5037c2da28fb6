package io.github.checkout.operator;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.springframework.boot.Banner;
import org.springframework.boot.DefaultApplicationArguments;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;
import org.springframework.dao.DataAccessException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The operator commands, run as modes of the service's jar against the configured database
 * ({@code SPRING_DATASOURCE_URL} etc.): {@code audit} checks every invariant and prints a report,
 * {@code restock} changes an item's stock through the ledger. In this mode the Kafka listeners stay
 * stopped and no topic is created, so no broker is needed; Flyway never runs, so a command migrates
 * nothing, whatever the settings say. Exit codes: 0 done and sound, 1 the audit found violations or the
 * database refused the restock, 2 wrong usage. Options with a dot in their name
 * ({@code --spring.datasource.url=...}) are Spring's settings, not the command's.
 */
@Command(name = "java -jar oversell-proof-checkout.jar", synopsisSubcommandLabel = "(audit | restock)")
public final class OperatorCommands {

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    private static final String AUDIT = "audit";
    private static final String RESTOCK = "restock";
    private static final Set<String> COMMANDS = Set.of(AUDIT, RESTOCK);

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
        // Above every other source: an operator's command must not migrate the database, even where the
        // environment carries the service's settings, the owner's credentials (spring.flyway.user) among them.
        app.addInitializers(context -> context.getEnvironment().getPropertySources().addFirst(
                new MapPropertySource("operator-command", Map.of("spring.flyway.enabled", "false"))));
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
        return new CommandLine(this)
                .addSubcommand(new Audit())
                .addSubcommand(new Restock())
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .setParameterExceptionHandler((e, arguments) -> usageError(e))
                .execute(Arrays.stream(args).filter(arg -> !isSpringSetting(arg)).toArray(String[]::new));
    }

    /** Names an unknown argument first (picocli would report {@code --itme=...} as a missing {@code --item}), then the usage. */
    private int usageError(ParameterException e) {
        List<String> unknown = e.getCommandLine().getUnmatchedArguments();
        if (unknown.isEmpty()) {
            err.println(e.getMessage());
        }
        unknown.forEach(arg -> err.println((arg.startsWith("-") ? "Unknown option: '" : "Unknown command: '") + arg + "'"));
        e.getCommandLine().usage(err);
        return USAGE;
    }

    /** {@code --name=value} with a dot in the name: Spring reads it, as it reads every {@code --name=value}. */
    private static boolean isSpringSetting(String arg) {
        int end = arg.indexOf('=');
        return arg.startsWith("--") && arg.substring(2, end < 0 ? arg.length() : end).contains(".");
    }

    @Command(name = AUDIT, description = "Checks the database's invariants; exits 1 naming each violation.")
    private final class Audit implements Callable<Integer> {

        @Override
        public Integer call() {
            List<StockOperations.Violation> violations;
            try {
                violations = stock.audit();
            } catch (DataAccessException e) {
                err.println("audit could not run: " + firstLine(e));
                return FAILED;
            }
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
    }

    @Command(name = RESTOCK, sortOptions = false, sortSynopsis = false,
            description = "Adds n units to an item's stock; a negative n is a correction, never below zero.")
    private final class Restock implements Callable<Integer> {

        @Spec
        private CommandSpec spec;
        @Option(names = "--item", required = true, paramLabel = "<uuid>", description = "The item's id.")
        private UUID item;
        @Option(names = "--delta", required = true, paramLabel = "<n>", description = "Units to add, or to take away if negative.")
        private int delta;
        @Option(names = "--operator", required = true, paramLabel = "<name>", description = "Who restocks, kept in the ledger.")
        private String operator;
        @Option(names = "--note", paramLabel = "<text>", description = "Why, kept in the ledger.")
        private String note;

        @Override
        public Integer call() {
            if (operator.isBlank()) {
                throw new ParameterException(spec.commandLine(), "--operator must name who restocks, not be blank");
            }
            try {
                int now = stock.restock(item, delta, operator, note);
                out.printf("%s item %s by %+d: stock is now %d (ledger: %s by %s).%n",
                        delta > 0 ? "Restocked" : "Corrected", item, delta, now,
                        delta > 0 ? "restock" : "correction", operator.strip());
                return OK;
            } catch (DataAccessException e) {
                err.println("restock refused, nothing changed: " + firstLine(e));
                return FAILED;
            }
        }
    }

    /** PostgreSQL's message without the lines of context it appends. */
    private static String firstLine(DataAccessException e) {
        return String.valueOf(e.getMostSpecificCause().getMessage()).lines().findFirst().orElse("");
    }
}
