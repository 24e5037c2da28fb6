package io.github.checkout.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The requests of one scenario run, generated before it starts: the items with their initial stock and the
 * deliveries in send order. Each delivery names an idempotency key; a duplicate delivery names an earlier key
 * again and is byte for byte the same request. Keys are numbered in order of first delivery, so deliveries
 * {@code [0, n)} use exactly the keys {@code [0, max + 1)} and a run cut short by time is still well defined.
 */
final class Workload {

    static final int FLASH_STOCK = 100;
    static final int UNIFORM_STOCK = 1_000;
    static final int ZIPF_STOCK = 100;
    static final double ZIPF_EXPONENT = 1.0;
    static final double DUPLICATE_SHARE = 0.10;
    /** A duplicate repeats one of this many most recent distinct requests, as a client retry would. */
    static final int DUPLICATE_REACH = 1_000;

    final Scenario scenario;
    final String keyPrefix;
    final UUID[] items;
    final int[] initialStock;
    private final int[] keyOfDelivery;
    private final int[] itemOfKey;
    private final UUID[] userOfKey;

    private Workload(Scenario scenario, String keyPrefix, UUID[] items, int[] initialStock, int[] keyOfDelivery,
                     int[] itemOfKey, UUID[] userOfKey) {
        this.scenario = scenario;
        this.keyPrefix = keyPrefix;
        this.items = items;
        this.initialStock = initialStock;
        this.keyOfDelivery = keyOfDelivery;
        this.itemOfKey = itemOfKey;
        this.userOfKey = userOfKey;
    }

    /**
     * {@code deliveries} requests for the scenario over {@code itemCount} items (one for HOT and FLASH), with
     * keys {@code keyPrefix + n}. The items are new every time; the same seed gives the same mix over them.
     */
    static Workload generate(Scenario scenario, int deliveries, int itemCount, String keyPrefix, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int n = switch (scenario) {
            case HOT, FLASH -> 1;
            case UNIFORM, ZIPF, LATENCY -> itemCount;
        };
        int stock = switch (scenario) {
            case HOT -> Math.max(10_000_000, 2 * deliveries);
            case FLASH -> FLASH_STOCK;
            case UNIFORM, LATENCY -> UNIFORM_STOCK;
            case ZIPF -> ZIPF_STOCK;
        };
        UUID[] items = new UUID[n];
        int[] initial = new int[n];
        for (int i = 0; i < n; i++) {
            items[i] = UUID.randomUUID();
            initial[i] = stock;
        }
        ZipfTable zipf = scenario == Scenario.ZIPF ? new ZipfTable(n, ZIPF_EXPONENT) : null;
        double duplicates = scenario == Scenario.ZIPF ? DUPLICATE_SHARE : 0;

        int[] keyOfDelivery = new int[deliveries];
        int[] itemOfKey = new int[deliveries];
        UUID[] userOfKey = new UUID[deliveries];
        int keys = 0;
        for (int d = 0; d < deliveries; d++) {
            if (keys > 0 && random.nextDouble() < duplicates) {
                keyOfDelivery[d] = keys - 1 - random.nextInt(Math.min(keys, DUPLICATE_REACH));
                continue;
            }
            itemOfKey[keys] = zipf != null ? zipf.sample(random) : random.nextInt(n);
            userOfKey[keys] = randomUuid(random);
            keyOfDelivery[d] = keys++;
        }
        return new Workload(scenario, keyPrefix, items, initial, keyOfDelivery,
                Arrays.copyOf(itemOfKey, keys), Arrays.copyOf(userOfKey, keys));
    }

    int deliveries() {
        return keyOfDelivery.length;
    }

    int keys() {
        return itemOfKey.length;
    }

    int keyOf(int delivery) {
        return keyOfDelivery[delivery];
    }

    String key(int key) {
        return keyPrefix + key;
    }

    UUID user(int key) {
        return userOfKey[key];
    }

    UUID item(int key) {
        return items[itemOfKey[key]];
    }

    /** The number of distinct keys among the first {@code sent} deliveries. */
    int distinctKeys(int sent) {
        int max = -1;
        for (int d = 0; d < sent; d++) {
            max = Math.max(max, keyOfDelivery[d]);
        }
        return max + 1;
    }

    int totalInitialStock() {
        return Arrays.stream(initialStock).sum();
    }

    /** The request as a producer sends it: a PurchaseRequested JSON document, quantity 1. */
    byte[] json(int delivery) {
        int key = keyOfDelivery[delivery];
        return ("{\"idempotencyKey\":\"" + key(key) + "\",\"userId\":\"" + user(key) + "\",\"itemId\":\"" + item(key)
                + "\",\"quantity\":1}").getBytes(StandardCharsets.UTF_8);
    }

    /** Puts the items on sale, all in one statement. */
    void provision(JdbcClient db) {
        db.sql("""
                        insert into items (id, name, stock)
                        select id, 'bench ' || id, stock from unnest(:ids, :stocks) as t(id, stock)""")
                .param("ids", items)
                .param("stocks", Arrays.stream(initialStock).boxed().toArray(Integer[]::new))
                .update();
    }

    private static UUID randomUuid(SplittableRandom random) {
        long msb = (random.nextLong() & ~0xF000L) | 0x4000L;
        long lsb = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(msb, lsb);
    }

    /** Item ranks drawn with probability proportional to 1 / rank^exponent, by inverse CDF over a table. */
    static final class ZipfTable {

        private final double[] cumulative;

        ZipfTable(int n, double exponent) {
            cumulative = new double[n];
            double sum = 0;
            for (int rank = 1; rank <= n; rank++) {
                sum += 1 / Math.pow(rank, exponent);
                cumulative[rank - 1] = sum;
            }
        }

        /** An index in {@code [0, n)}; index 0 is the most popular. */
        int sample(SplittableRandom random) {
            double u = random.nextDouble() * cumulative[cumulative.length - 1];
            int i = Arrays.binarySearch(cumulative, u);
            return Math.min(i >= 0 ? i : -i - 1, cumulative.length - 1);
        }
    }
}
