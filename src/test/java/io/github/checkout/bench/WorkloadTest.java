package io.github.checkout.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The cart scenario's requests: their shape, their lines, and stock for every one of them; the hold scenario's. */
class WorkloadTest {

    private final Workload carts = Workload.generate(Scenario.CART, 20_000, 1_000, "cart-", 42);

    @Test
    void cartsHaveOneToFiveLinesOfDistinctItems_eachCountAboutEquallyOften() {
        int[] byCount = new int[Workload.CART_MAX_LINES + 1];
        for (int key = 0; key < carts.keys(); key++) {
            UUID[] items = carts.lineItems(key);
            assertThat(items).hasSize(carts.lines(key)).doesNotHaveDuplicates();
            byCount[items.length]++;
        }
        assertThat(byCount[0]).isZero();
        assertThat(Arrays.stream(byCount, 1, byCount.length)).allSatisfy(n -> assertThat(n).isBetween(3_700, 4_300));
        assertThat(carts.keys()).isEqualTo(carts.deliveries()).isEqualTo(20_000);
    }

    @Test
    void itemsAreZipfDistributed_andEveryItemHasTheStockItsCartsAskFor() {
        int[] demand = new int[carts.items.length];
        for (int key = 0; key < carts.keys(); key++) {
            for (UUID item : carts.lineItems(key)) {
                demand[List.of(carts.items).indexOf(item)]++;
            }
        }
        assertThat(carts.initialStock).containsExactly(demand);
        // s = 1 over 1,000 items: the first takes about 1 / H(1000) = 13% of draws, the 100th a hundredth of that.
        int lines = Arrays.stream(demand).sum();
        assertThat((double) demand[0] / lines).isBetween(0.09, 0.15);
        assertThat(demand[0]).isGreaterThan(20 * demand[99]);
    }

    @Test
    void aCartIsSentInCartForm_keyedByItsUser() {
        JsonNode json = JsonMapper.builder().build().readTree(carts.json(7));
        assertThat(new HashSet<>(json.propertyNames())).containsExactlyInAnyOrder("idempotencyKey", "userId", "lines");
        assertThat(json.get("idempotencyKey").asString()).isEqualTo("cart-7");
        assertThat(json.get("lines").size()).isEqualTo(carts.lines(7));
        for (int i = 0; i < carts.lines(7); i++) {
            assertThat(json.get("lines").get(i).get("itemId").asString()).isEqualTo(carts.lineItems(7)[i].toString());
            assertThat(json.get("lines").get(i).get("quantity").asInt()).isEqualTo(1);
        }
        assertThat(carts.partitionKey(7)).isEqualTo(carts.user(7).toString());

        Workload single = Workload.generate(Scenario.UNIFORM, 10, 10, "one-", 42);
        assertThat(single.lines(3)).isEqualTo(1);
        assertThat(single.partitionKey(3)).isEqualTo(single.item(3).toString());
        assertThat(JsonMapper.builder().build().readTree(single.json(3)).has("lines")).isFalse();
    }

    @Test
    void holdsAreUniformRequestsWithHoldFor_fourInFiveConfirmed() {
        Workload holds = Workload.generate(Scenario.HOLD, 10_000, 1_000, "hold-", 42);
        assertThat(holds.initialStock).containsOnly(Workload.UNIFORM_STOCK);
        assertThat((double) holds.confirming(holds.keys()) / holds.keys()).isBetween(0.78, 0.82);
        for (int key : new int[] {0, 1, 2, 3, 4, 5, 6, 7}) {
            JsonNode json = JsonMapper.builder().build().readTree(holds.json(key));
            assertThat(json.get("holdFor").asString())
                    .isEqualTo(holds.confirms(key) ? Workload.CONFIRMED_HOLD : Workload.EXPIRING_HOLD);
            assertThat(json.get("itemId").asString()).isEqualTo(holds.item(key).toString());
        }
        UUID reservation = UUID.randomUUID();
        JsonNode confirm = JsonMapper.builder().build().readTree(holds.confirmationJson(3, reservation));
        assertThat(confirm.get("type").asString()).isEqualTo("ConfirmReservation");
        assertThat(confirm.get("idempotencyKey").asString()).isEqualTo("hold-c3");
        assertThat(confirm.get("reservationId").asString()).isEqualTo(reservation.toString());
        assertThat(new Observed(holds).confirmationNumber("hold-c3")).isEqualTo(3);
        assertThat(new Observed(holds).keyNumber("hold-c3")).isEqualTo(-1);
        assertThat(Workload.generate(Scenario.UNIFORM, 10, 10, "one-", 42).holds()).isFalse();
    }
}
