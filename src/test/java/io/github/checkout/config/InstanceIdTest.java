package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceIdTest {

    @Test
    void aConfiguredIdIsUsedAsItIs(@TempDir Path dir) throws Exception {
        try (InstanceId id = InstanceId.resolve("checkout-2", List.of("purchases", "refunds"), dir)) {
            assertThat(id.value()).isEqualTo("checkout-2");
            assertThat(id.derived()).isFalse();
        }
    }

    @Test
    void instancesRunningAtOnceTakeDistinctSlots_andARestartTakesTheFreedSlotBack(@TempDir Path dir) throws Exception {
        try (InstanceId first = InstanceId.resolve(null, List.of("purchases", "refunds"), dir)) {
            InstanceId second = InstanceId.resolve(null, List.of("purchases", "refunds"), dir);
            assertThat(first.value()).endsWith("-0");
            assertThat(second.value()).endsWith("-1").isEqualTo(first.value().replaceAll("-0$", "-1"));
            second.close();
            try (InstanceId restarted = InstanceId.resolve(null, List.of("purchases", "refunds"), dir)) {
                assertThat(restarted.value()).isEqualTo(second.value());
            }
        }
    }

    @Test
    void otherGroupsCountTheirOwnSlots(@TempDir Path dir) throws Exception {
        try (InstanceId one = InstanceId.resolve(null, List.of("purchases", "refunds"), dir);
             InstanceId other = InstanceId.resolve(null, List.of("other-purchases", "other-refunds"), dir)) {
            assertThat(one.value()).endsWith("-0");
            assertThat(other.value()).endsWith("-0");
        }
    }

    @Test
    void anInstanceSharingOnlyOneGroupStillTakesAnotherSlot(@TempDir Path dir) throws Exception {
        try (InstanceId one = InstanceId.resolve(null, List.of("purchases", "refunds"), dir);
             InstanceId sharingRefunds = InstanceId.resolve(null, List.of("other-purchases", "refunds"), dir)) {
            assertThat(one.value()).endsWith("-0");
            assertThat(sharingRefunds.value()).endsWith("-1");
        }
    }
}
