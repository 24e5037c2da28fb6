package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceIdTest {

    @Test
    void aConfiguredIdIsUsedAsItIs(@TempDir Path dir) throws Exception {
        try (InstanceId id = InstanceId.resolve("checkout-2", "group", dir)) {
            assertThat(id.value()).isEqualTo("checkout-2");
            assertThat(id.derived()).isFalse();
        }
    }

    @Test
    void instancesRunningAtOnceTakeDistinctSlots_andARestartTakesTheFreedSlotBack(@TempDir Path dir) throws Exception {
        try (InstanceId first = InstanceId.resolve(null, "group", dir)) {
            InstanceId second = InstanceId.resolve(null, "group", dir);
            assertThat(first.value()).endsWith("-0");
            assertThat(second.value()).endsWith("-1").isEqualTo(first.value().replaceAll("-0$", "-1"));
            second.close();
            try (InstanceId restarted = InstanceId.resolve(null, "group", dir)) {
                assertThat(restarted.value()).isEqualTo(second.value());
            }
        }
    }

    @Test
    void slotsAreCountedPerGroup(@TempDir Path dir) throws Exception {
        try (InstanceId purchases = InstanceId.resolve(null, "group-a", dir);
             InstanceId other = InstanceId.resolve(null, "group-b", dir)) {
            assertThat(purchases.value()).endsWith("-0");
            assertThat(other.value()).endsWith("-0");
        }
    }
}
