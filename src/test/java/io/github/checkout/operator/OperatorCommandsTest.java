package io.github.checkout.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class OperatorCommandsTest {

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    // Usage errors are found before the database is asked anything.
    private final OperatorCommands commands = new OperatorCommands(null, System.out,
            new PrintStream(err, true, StandardCharsets.UTF_8));

    @Test
    void aCommandIsTheFirstWordThatIsNotAnOption() {
        assertThat(OperatorCommands.isCommand("audit")).isTrue();
        assertThat(OperatorCommands.isCommand("--spring.datasource.url=jdbc:postgresql://db/x", "restock", "--item=1")).isTrue();
        assertThat(OperatorCommands.isCommand()).isFalse();
        assertThat(OperatorCommands.isCommand("--buyers=5", "--serve")).isFalse();
        assertThat(OperatorCommands.isCommand("serve")).isFalse();
    }

    @Test
    void restockWithoutItemDeltaOrOperator_isAUsageErrorExitingTwo() {
        assertThat(commands.execute("restock", "--delta=5", "--operator=alice")).isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("restock", "--item=" + UUID.randomUUID(), "--operator=alice"))
                .isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("restock", "--item=" + UUID.randomUUID(), "--delta=5"))
                .isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("restock", "--item=not-a-uuid", "--delta=5", "--operator=alice"))
                .isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("restock", "--item=" + UUID.randomUUID(), "--delta=five", "--operator=alice"))
                .isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("restock", "--item=" + UUID.randomUUID(), "--delta=5", "--operator= "))
                .isEqualTo(OperatorCommands.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains(
                "Usage: java -jar oversell-proof-checkout.jar restock --item=<uuid> --delta=<n>", "--operator=<name> [--note=<text>]",
                "Missing required option: '--item=<uuid>'", "Missing required option: '--delta=<n>'",
                "Missing required option: '--operator=<name>'", "Invalid value for option '--item': cannot convert 'not-a-uuid'",
                "Invalid value for option '--delta': 'five' is not an int", "--operator must name who restocks");
    }

    @Test
    void aMisspelledOption_isNamedThoughARequiredOneIsThenMissing() {
        assertThat(commands.execute("restock", "--itme=" + UUID.randomUUID(), "--delta=5", "--operator=alice"))
                .isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("audit", "--verbose")).isEqualTo(OperatorCommands.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("Unknown option: '--itme=", "Unknown option: '--verbose'")
                .doesNotContain("Missing required option");
    }

    @Test
    void unknownOrMissingCommand_printsTheCommandsAndExitsTwo() {
        assertThat(commands.execute("rollback")).isEqualTo(OperatorCommands.USAGE);
        assertThat(commands.execute("--spring.datasource.url=jdbc:postgresql://db/x")).isEqualTo(OperatorCommands.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("Unknown command: 'rollback'", "Missing required subcommand",
                "audit    Checks the database's invariants", "restock  Adds n units to an item's stock");
    }
}
