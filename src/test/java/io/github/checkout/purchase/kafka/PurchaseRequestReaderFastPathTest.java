package io.github.checkout.purchase.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.RequestReader.Valid;
import io.github.checkout.purchase.PurchaseRequested;
import io.github.checkout.support.ReaderProperties;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The fast path against the schema path, on thousands of generated messages: it only accepts what the
 * schema accepts, builds the same request, does accept the common shapes, and leaves every other answer
 * (poison reasons and details included) exactly as the schema path gives it.
 */
class PurchaseRequestReaderFastPathTest {

    private static final CheckoutProperties PROPERTIES = ReaderProperties.withMaxRequestBytes(16384);

    private final PurchaseRequestReader reader = new PurchaseRequestReader(PROPERTIES);
    /** The same reader without the fast path: every message goes through the tree and the schema. */
    private final PurchaseRequestReader fullReader = new PurchaseRequestReader(PROPERTIES) {
        @Override
        protected PurchaseRequested readFast(byte[] value) {
            return null;
        }
    };

    /** One generated message; {@code common} if it has a shape the fast path must take. */
    private record Doc(byte[] bytes, boolean common) {

        @Override
        public String toString() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    @Test
    void fastPath_acceptsOnlyWhatTheSchemaAccepts_andBuildsTheSameRequest() {
        int accepted = 0;
        int common = 0;
        for (Doc doc : DOCS) {
            PurchaseRequested fast = reader.readFast(doc.bytes());
            if (fast != null) {
                accepted++;
                assertThat(fullReader.read(doc.bytes())).as(doc.toString()).isEqualTo(new Valid<>(fast));
            }
            if (doc.common()) {
                common++;
                assertThat(fast).as("common shape left to the full path: %s", doc).isNotNull();
            }
        }
        assertThat(common).isGreaterThan(DOCS.size() / 10);
        assertThat(accepted).isGreaterThan(common).isLessThan(DOCS.size() / 2);
    }

    @Test
    void theBenchmarkMessage_takesTheFastPath() {
        String message = "{\"idempotencyKey\":\"bench-123\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":1}"
                .formatted(UUID.randomUUID(), UUID.randomUUID());
        assertThat(reader.readFast(message.getBytes(StandardCharsets.UTF_8))).isNotNull();
    }

    @Test
    void aCart_isLeftToTheFullPath() {
        String cart = "{\"idempotencyKey\":\"c\",\"userId\":\"%s\",\"lines\":[{\"itemId\":\"%s\",\"quantity\":1}]}"
                .formatted(UUID.randomUUID(), UUID.randomUUID());
        assertThat(reader.readFast(cart.getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(reader.read(cart.getBytes(StandardCharsets.UTF_8))).isInstanceOf(Valid.class);
    }

    @Test
    void read_answersExactlyAsWithoutTheFastPath_andNeverThrows() {
        for (Doc doc : DOCS) {
            assertThat(reader.read(doc.bytes())).as(doc.toString()).isEqualTo(fullReader.read(doc.bytes()));
        }
    }

    // ---- generation ----

    private static final String[] WRONG_VALUES = {
        "null", "true", "false", "0", "7", "1.5", "\"\"", "\"x\"", "[]", "{}", "[\"a\"]", "{\"a\":1}"};
    private static final String[] EXTRA_NAMES = {
        "extra", "IdempotencyKey", "userid", "quantity ", " ", "", "ключ", "😀", "a".repeat(300)};
    private static final String[] TRAILING = {" x", "}", "]", " {}", ",", "\n", " \t ", "{\"a\":1}", "null", "\u0000"};
    private static final String[] GOOD_DATES = {
        "2026-11-26T10:15:30Z", "2026-11-26T10:15:30.123+01:00", "2026-02-28T23:59:59.999999999-05:30"};
    private static final String[] BAD_DATES = {
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
        "2026-11-26T24:00:00Z", "2026-11-26T23:60:00Z", "2026-11-26T23:59:61Z", "2026-11-26t10:15:30Z",
        "2026-11-26T10:15:30z", "2026-11-26 10:15:30Z", "2026-11-26T10:15:30+24:00", "2026-11-26T10:15:30+01:60",
        "2026-11-26T10:15:30+0100", "2026-11-26T10:15:30", "2026-11-26T10:15Z", "2026-11-26", "+2026-11-26T10:15:30Z",
        "1998-12-31T23:59:60Z", "2016-12-31T23:59:60Z", "2026-11-26T23:59:60Z", "2026-11-26T10:15:30.1234567891Z",
        "2026-11-26T10:15:30.Z", "2026-11-26T10:15:30+19:00", "2026-11-26T10:15:30-23:59", "yesterday", "",
        "2026-11-26T10:15:30Z\n", "2026-11-26T10:15:30Z ", "２０２６-11-26T10:15:30Z", "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59-00:00", "10000-01-01T00:00:00Z"};
    private static final String[] DATE_OFFSETS = {
        "Z", "z", "+00:00", "-00:00", "+01:00", "-05:30", "+18:00", "-18:00", "+18:01", "+23:59", "+24:00", "+05:60", ""};
    private static final List<Doc> DOCS = documents(new Random(20261126), 6000);

    private static List<Doc> documents(Random random, int count) {
        List<Doc> docs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            docs.add(document(random));
        }
        return docs;
    }

    private static Doc document(Random random) {
        List<String[]> fields = new ArrayList<>();
        boolean[] common = {true};
        fields.add(field("idempotencyKey", string(key(random, common), random)));
        fields.add(field("userId", string(uuid(random), random)));
        fields.add(field("itemId", string(uuid(random), random)));
        String quantity = quantity(random, common);
        if (quantity != null) {
            fields.add(field("quantity", quantity));
        }
        String requestedAt = requestedAt(random);
        if (requestedAt != null) {
            fields.add(field("requestedAt", string(requestedAt, random)));
        }
        if (random.nextInt(6) == 0) {
            fields.add(field(pick(random, EXTRA_NAMES), pick(random, WRONG_VALUES)));
            common[0] = false;
        }
        Collections.shuffle(fields, random);
        if (random.nextBoolean()) {
            mutateFields(fields, random);
            common[0] = false;
        }
        String text = render(fields, random);
        if (random.nextInt(8) == 0) {
            text = random.nextBoolean() ? text.substring(0, random.nextInt(text.length())) : text + pick(random, TRAILING);
            common[0] = false;
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (random.nextInt(12) == 0) {
            bytes = breakBytes(bytes, random);
            common[0] = false;
        }
        return new Doc(bytes, common[0]);
    }

    private static void mutateFields(List<String[]> fields, Random random) {
        int index = random.nextInt(fields.size());
        String name = fields.get(index)[0];
        switch (random.nextInt(6)) {
            case 0 -> fields.remove(index);
            case 1 -> fields.get(index)[1] = pick(random, WRONG_VALUES);
            case 2 -> fields.add(random.nextInt(fields.size() + 1),
                    field(name, random.nextBoolean() ? fields.get(index)[1] : pick(random, WRONG_VALUES)));
            case 3 -> fields.set(index, field(name, "null"));
            case 4 -> replace(fields, random.nextBoolean() ? "userId" : "itemId", string(badUuid(random), random));
            default -> replace(fields, "idempotencyKey", string(pick(random, "", "k".repeat(201), "k\u0000", "\udc00k"), random));
        }
    }

    /** Sets the value of the field named so, or adds it where it is missing. */
    private static void replace(List<String[]> fields, String name, String json) {
        fields.stream().filter(f -> f[0].equals(name)).findFirst()
                .ifPresentOrElse(f -> f[1] = json, () -> fields.add(field(name, json)));
    }

    private static String key(Random random, boolean[] common) {
        return switch (random.nextInt(10)) {
            case 0 -> "bench-" + random.nextInt(1_000_000);
            case 1 -> randomAscii(random, 1 + random.nextInt(200));
            case 2 -> "k".repeat(200);
            case 3 -> "ключ-ü-✓-" + random.nextInt(1000);
            case 4 -> "😀".repeat(100);
            case 5 -> {
                common[0] = false;
                yield "k".repeat(201);
            }
            case 6 -> {
                common[0] = false;
                yield "😀".repeat(101 + random.nextInt(2));
            }
            case 7 -> {
                common[0] = false;
                yield random.nextBoolean() ? "" : "\ud800";
            }
            default -> "k" + random.nextInt(1_000_000);
        };
    }

    private static String uuid(Random random) {
        String uuid = new UUID(random.nextLong(), random.nextLong()).toString();
        return switch (random.nextInt(3)) {
            case 0 -> uuid;
            case 1 -> uuid.toUpperCase();
            default -> uuid.chars().mapToObj(c -> String.valueOf((char) (random.nextBoolean() ? Character.toUpperCase(c) : c)))
                    .collect(Collectors.joining());
        };
    }

    private static String badUuid(Random random) {
        String uuid = uuid(random);
        int at = random.nextInt(uuid.length());
        return switch (random.nextInt(10)) {
            case 0 -> uuid.substring(1);
            case 1 -> uuid + "a";
            case 2 -> uuid.substring(0, at) + 'g' + uuid.substring(at + 1);
            case 3 -> uuid.substring(0, at) + '０' + uuid.substring(at + 1);
            case 4 -> uuid.substring(0, at) + '٣' + uuid.substring(at + 1);
            case 5 -> "{" + uuid + "}";
            case 6 -> uuid + "\n";
            case 7 -> uuid.replace("-", "");
            case 8 -> uuid.substring(1, 9) + "-" + uuid.charAt(0) + uuid.substring(10);
            default -> random.nextBoolean() ? "nope" : "";
        };
    }

    private static String quantity(Random random, boolean[] common) {
        String[] usual = {null, "1", String.valueOf(1 + random.nextInt(1000)), "0", "-1", "1001",
            String.valueOf(Integer.MAX_VALUE), String.valueOf(Integer.MIN_VALUE)};
        String[] unusual = {"-0", "2147483648", "-2147483649", "99999999999", "1" + "0".repeat(40), "1.0", "1.5", "1e2",
            "1E0", "01", "\"2\"", "+1", "NaN"};
        if (random.nextInt(5) > 0) {
            return pick(random, usual);
        }
        common[0] = false;
        return pick(random, unusual);
    }

    /** The sender's own: the service does not read it, so every string is a common shape, dates or not. */
    private static String requestedAt(Random random) {
        switch (random.nextInt(6)) {
            case 0, 1:
                return null;
            case 2:
                return pick(random, GOOD_DATES);
            case 3:
                return String.format("%04d-%02d-%02dT%02d:%02d:%02d%s%s", 1970 + random.nextInt(130),
                        1 + random.nextInt(12), 1 + random.nextInt(28), random.nextInt(24), random.nextInt(60),
                        random.nextInt(60), fraction(random, 1 + random.nextInt(9)),
                        random.nextBoolean() ? "Z" : String.format("%c%02d:%02d", random.nextBoolean() ? '+' : '-',
                                random.nextInt(18), random.nextInt(60)));
            case 4:
                return pick(random, BAD_DATES);
            default:
                return String.format("%04d-%02d-%02d%c%02d:%02d:%02d%s%s", pickInt(random, 0, 1998, 2016, 2024, 2025, 9999),
                        random.nextInt(14), random.nextInt(33), "TTTt ".charAt(random.nextInt(5)), pickInt(random, 0, 12, 23, 24),
                        pickInt(random, 0, 59, 60), pickInt(random, 0, 30, 59, 60), fraction(random, random.nextInt(11)),
                        pick(random, DATE_OFFSETS));
        }
    }

    private static String fraction(Random random, int digits) {
        if (digits == 0) {
            return "";
        }
        StringBuilder fraction = new StringBuilder(".");
        for (int i = 0; i < digits; i++) {
            fraction.append((char) ('0' + random.nextInt(10)));
        }
        return fraction.toString();
    }

    private static String randomAscii(Random random, int length) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < length; i++) {
            text.append((char) (' ' + random.nextInt(95)));
        }
        return text.toString();
    }

    /** A JSON string literal, non-ASCII characters sometimes as escapes. */
    private static String string(String value, Random random) {
        boolean escapeAll = random.nextInt(4) == 0;
        StringBuilder json = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') {
                json.append('\\').append(c);
            } else if (c < ' ' || c > '~' && escapeAll) {
                json.append(String.format("\\u%04x", (int) c));
            } else {
                json.append(c);
            }
        }
        return json.append('"').toString();
    }

    private static String render(List<String[]> fields, Random random) {
        String space = random.nextInt(4) == 0 ? pick(random, " ", "\n", "\t ") : "";
        return fields.stream()
                .map(f -> string(f[0], random) + space + ":" + space + f[1])
                .collect(Collectors.joining("," + space, space + "{" + space, space + "}" + space));
    }

    private static byte[] breakBytes(byte[] bytes, Random random) {
        byte[] broken = Arrays.copyOf(bytes, bytes.length);
        int at = random.nextInt(broken.length);
        broken[at] = (byte) pickInt(random, 0xFF, 0xC3, 0x80, 0x00, '"', '{', '\\');
        return broken;
    }

    private static String[] field(String name, String json) {
        return new String[] {name, json};
    }

    @SafeVarargs
    private static <V> V pick(Random random, V... values) {
        return values[random.nextInt(values.length)];
    }

    private static int pickInt(Random random, int... values) {
        return values[random.nextInt(values.length)];
    }
}
