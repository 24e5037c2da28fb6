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
 * A request names one item, one unit; in the CART scenario it is a cart of 1 to 5 lines of distinct items, one
 * unit each. In the HOLD scenario a request places a hold on its item ({@code holdFor}): one to be confirmed
 * for {@link #CONFIRMED_HOLD}, one to be left to expire for {@link #EXPIRING_HOLD}, decided at generation.
 */
final class Workload {

    static final int FLASH_STOCK = 100;
    static final int UNIFORM_STOCK = 1_000;
    static final int ZIPF_STOCK = 100;
    static final double ZIPF_EXPONENT = 1.0;
    static final double DUPLICATE_SHARE = 0.10;
    /** A duplicate repeats one of this many most recent distinct requests, as a client retry would. */
    static final int DUPLICATE_REACH = 1_000;
    static final int CART_MAX_LINES = 5;
    /** Holds confirmed as soon as their StockReserved is seen; the others are left to expire. */
    static final double CONFIRMED_SHARE = 0.8;
    /** Long enough never to expire before its confirmation. */
    static final String CONFIRMED_HOLD = "PT10M";
    static final String EXPIRING_HOLD = "PT1S";

    final Scenario scenario;
    final String keyPrefix;
    final UUID[] items;
    final int[] initialStock;
    private final int[] keyOfDelivery;
    private final int[] itemOfKey;
    private final UUID[] userOfKey;
    /** CART only: key k's lines are the items {@code cartItems[cartStart[k] .. cartStart[k + 1])}; else null. */
    private final int[] cartStart;
    private final int[] cartItems;
    /** HOLD only: whether key k's hold is to be confirmed (else left to expire); else null. */
    private final boolean[] confirmed;

    private Workload(Scenario scenario, String keyPrefix, UUID[] items, int[] initialStock, int[] keyOfDelivery,
                     int[] itemOfKey, UUID[] userOfKey, int[] cartStart, int[] cartItems, boolean[] confirmed) {
        this.scenario = scenario;
        this.keyPrefix = keyPrefix;
        this.items = items;
        this.initialStock = initialStock;
        this.keyOfDelivery = keyOfDelivery;
        this.itemOfKey = itemOfKey;
        this.userOfKey = userOfKey;
        this.cartStart = cartStart;
        this.cartItems = cartItems;
        this.confirmed = confirmed;
    }

    /**
     * {@code deliveries} requests for the scenario over {@code itemCount} items (one for HOT and FLASH), with
     * keys {@code keyPrefix + n}. The items are new every time; the same seed gives the same mix over them.
     */
    static Workload generate(Scenario scenario, int deliveries, int itemCount, String keyPrefix, long seed) {
        if (scenario == Scenario.CART) {
            return carts(deliveries, itemCount, keyPrefix, seed);
        }
        SplittableRandom random = new SplittableRandom(seed);
        int n = switch (scenario) {
            case HOT, FLASH -> 1;
            case UNIFORM, ZIPF, LATENCY, CART, HOLD -> itemCount;
        };
        int stock = switch (scenario) {
            case HOT -> Math.max(10_000_000, 2 * deliveries);
            case FLASH -> FLASH_STOCK;
            case UNIFORM, LATENCY, CART, HOLD -> UNIFORM_STOCK;
            case ZIPF -> ZIPF_STOCK;
        };
        UUID[] items = newItems(n);
        int[] initial = new int[n];
        Arrays.fill(initial, stock);
        ZipfTable zipf = scenario == Scenario.ZIPF ? new ZipfTable(n, ZIPF_EXPONENT) : null;
        double duplicates = scenario == Scenario.ZIPF ? DUPLICATE_SHARE : 0;

        int[] keyOfDelivery = new int[deliveries];
        int[] itemOfKey = new int[deliveries];
        UUID[] userOfKey = new UUID[deliveries];
        boolean[] confirmed = scenario == Scenario.HOLD ? new boolean[deliveries] : null;
        int keys = 0;
        for (int d = 0; d < deliveries; d++) {
            if (keys > 0 && random.nextDouble() < duplicates) {
                keyOfDelivery[d] = keys - 1 - random.nextInt(Math.min(keys, DUPLICATE_REACH));
                continue;
            }
            itemOfKey[keys] = zipf != null ? zipf.sample(random) : random.nextInt(n);
            userOfKey[keys] = randomUuid(random);
            if (confirmed != null) {
                confirmed[keys] = random.nextDouble() < CONFIRMED_SHARE;
            }
            keyOfDelivery[d] = keys++;
        }
        return new Workload(scenario, keyPrefix, items, initial, keyOfDelivery,
                Arrays.copyOf(itemOfKey, keys), Arrays.copyOf(userOfKey, keys), null, null,
                confirmed == null ? null : Arrays.copyOf(confirmed, keys));
    }

    /**
     * Carts, one delivery each: 1 to {@link #CART_MAX_LINES} lines (the count uniformly chosen) of distinct items
     * drawn by Zipf (s = 1), one unit per line. Each item's stock is what all the carts together ask of it, so
     * every cart can succeed, as every request of the uniform scenario can.
     */
    private static Workload carts(int deliveries, int itemCount, String keyPrefix, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        ZipfTable zipf = new ZipfTable(itemCount, ZIPF_EXPONENT);
        int[] cartStart = new int[deliveries + 1];
        int[] cartItems = new int[deliveries * CART_MAX_LINES];
        int[] keyOfDelivery = new int[deliveries];
        UUID[] userOfKey = new UUID[deliveries];
        int[] demand = new int[itemCount];
        int line = 0;
        for (int k = 0; k < deliveries; k++) {
            int lines = 1 + random.nextInt(CART_MAX_LINES);
            cartStart[k] = line;
            while (line - cartStart[k] < lines) {
                int item = zipf.sample(random);
                if (!contains(cartItems, cartStart[k], line, item)) {
                    cartItems[line++] = item;
                    demand[item]++;
                }
            }
            userOfKey[k] = randomUuid(random);
            keyOfDelivery[k] = k;
        }
        cartStart[deliveries] = line;
        return new Workload(Scenario.CART, keyPrefix, newItems(itemCount), demand, keyOfDelivery,
                new int[deliveries], userOfKey, cartStart, Arrays.copyOf(cartItems, line), null);
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

    /** The item of a single-item request. */
    UUID item(int key) {
        return items[itemOfKey[key]];
    }

    boolean carts() {
        return cartStart != null;
    }

    /** Lines of the request: 1 for a single-item request. */
    int lines(int key) {
        return carts() ? cartStart[key + 1] - cartStart[key] : 1;
    }

    /** The request's lines' items, in line order. */
    UUID[] lineItems(int key) {
        if (!carts()) {
            return new UUID[] {item(key)};
        }
        return Arrays.stream(cartItems, cartStart[key], cartStart[key + 1]).mapToObj(i -> items[i]).toArray(UUID[]::new);
    }

    /** Whether the requests place holds (the HOLD scenario). */
    boolean holds() {
        return confirmed != null;
    }

    /** Whether key k's hold is to be confirmed; false: it is left to expire. */
    boolean confirms(int key) {
        return confirmed[key];
    }

    /** Holds to be confirmed among the keys {@code [0, keys)}. */
    int confirming(int keys) {
        int n = 0;
        for (int k = 0; k < keys; k++) {
            n += confirmed[k] ? 1 : 0;
        }
        return n;
    }

    /** The idempotency key of the ConfirmReservation of key k's hold: the prefix, "c", and k. */
    String confirmationKey(int key) {
        return keyPrefix + "c" + key;
    }

    /** The ConfirmReservation of key k's hold, sent keyed by the reservation id. */
    byte[] confirmationJson(int key, UUID reservationId) {
        return ("{\"type\":\"ConfirmReservation\",\"idempotencyKey\":\"" + confirmationKey(key)
                + "\",\"reservationId\":\"" + reservationId + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    /** The Kafka key: the item of a single-item request, the user of a cart (a cart spans items). */
    String partitionKey(int key) {
        return (carts() ? user(key) : item(key)).toString();
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

    /**
     * The request as a producer sends it: a PurchaseRequested JSON document, quantity 1 (in the HOLD scenario with
     * its {@code holdFor}), or in the CART scenario its cart form with one unit per line.
     */
    byte[] json(int delivery) {
        int key = keyOfDelivery[delivery];
        String head = "{\"idempotencyKey\":\"" + key(key) + "\",\"userId\":\"" + user(key) + "\",";
        if (holds()) {
            head += "\"holdFor\":\"" + (confirms(key) ? CONFIRMED_HOLD : EXPIRING_HOLD) + "\",";
        }
        if (!carts()) {
            return (head + "\"itemId\":\"" + item(key) + "\",\"quantity\":1}").getBytes(StandardCharsets.UTF_8);
        }
        StringBuilder json = new StringBuilder(head).append("\"lines\":[");
        UUID[] lineItems = lineItems(key);
        for (int i = 0; i < lineItems.length; i++) {
            json.append(i == 0 ? "" : ",").append("{\"itemId\":\"").append(lineItems[i]).append("\",\"quantity\":1}");
        }
        return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
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

    private static boolean contains(int[] values, int from, int to, int value) {
        for (int i = from; i < to; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
    }

    private static UUID[] newItems(int n) {
        UUID[] items = new UUID[n];
        Arrays.setAll(items, i -> UUID.randomUUID());
        return items;
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
