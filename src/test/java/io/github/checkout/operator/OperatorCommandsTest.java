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
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("Usage:", "--item must be a UUID");
    }

    @Test
    void unknownCommand_printsUsageAndExitsTwo() {
        assertThat(commands.execute("rollback")).isEqualTo(OperatorCommands.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("audit", "restock --item=<uuid> --delta=<n> --operator=<name>");
    }
}
