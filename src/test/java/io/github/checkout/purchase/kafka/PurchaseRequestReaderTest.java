package io.github.checkout.purchase.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.checkout.messaging.LogFields;
import io.github.checkout.messaging.RequestReader.Poison;
import io.github.checkout.messaging.RequestReader.Reason;
import io.github.checkout.messaging.RequestReader.Valid;
import io.github.checkout.messaging.RequestReader;
import io.github.checkout.purchase.PurchaseRequested;
import io.github.checkout.request.IdempotencyKey;
import io.github.checkout.support.ReaderProperties;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class PurchaseRequestReaderTest {

    private static final UUID USER = UUID.fromString("7d8f3c1e-2b4a-4f6e-9a1b-3c5d7e9f1a2b");
    private static final UUID ITEM = UUID.fromString("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9");
    private static final UUID OTHER = UUID.fromString("1c2d3e4f-5061-4728-93a4-b5c6d7e8f90a");

    private final PurchaseRequestReader reader = new PurchaseRequestReader(ReaderProperties.withMaxRequestBytes(1024));
    /** With the default limit: room for a cart of 51 lines. */
    private final PurchaseRequestReader wide = new PurchaseRequestReader(ReaderProperties.withMaxRequestBytes(16384));

    private RequestReader.Read<PurchaseRequested> read(String json) {
        return reader.read(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void completeRequest_isRead() {
        var read = read("""
                {"idempotencyKey":"k1","userId":"%s","itemId":"%s","quantity":3,"requestedAt":"2026-11-26T10:15:30+01:00"}"""
                .formatted(USER, ITEM));
        PurchaseRequested request = valid(read);
        assertThat(request.idempotencyKey().value()).isEqualTo("k1");
        assertThat(request.userId()).isEqualTo(USER);
        assertThat(request.itemId()).isEqualTo(ITEM);
        assertThat(request.quantity()).isEqualTo(3);
    }

    @Test
    void requestedAt_isTheSendersOwnAndNotRead() {
        for (String requestedAt : new String[] {"\"yesterday\"", "\"1998-12-31T23:59:60Z\"", "\"2026-11-26T10:15:30+20:00\"",
                "42", "null", "{\"zone\":\"Europe/Vienna\"}"}) {
            assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"requestedAt\":%s}"
                    .formatted(USER, ITEM, requestedAt)))).isEqualTo(new PurchaseRequested(new IdempotencyKey("k"), USER, ITEM, 1));
        }
    }

    @Test
    void requestedAtThatIsNotUtf8_isMalformedThoughNotRead() {
        for (byte notUtf8 : new byte[] {(byte) 0xFF, (byte) 0xC3, (byte) 0x80}) {
            byte[] message = "{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"requestedAt\":\"2026-11-26T10:15:30Z\"}"
                    .formatted(USER, ITEM).getBytes(StandardCharsets.UTF_8);
            message[message.length - 5] = notUtf8;
            assertThat(reader.read(message)).isInstanceOfSatisfying(Poison.class,
                    p -> assertThat(p.reason()).isEqualTo(Reason.MALFORMED_JSON));
        }
    }

    @Test
    void missingQuantity_defaultsToOne() {
        assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(USER, ITEM)))
                .quantity()).isEqualTo(1);
    }

    @Test
    void integralQuantityOutOfRange_isNotPoisonButLeftToTheDecision() {
        assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":0}"
                .formatted(USER, ITEM))).quantity()).isZero();
        assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":5000}"
                .formatted(USER, ITEM))).quantity()).isEqualTo(5000);
    }

    @Test
    void poisonWhoseJsonWasRead_namesTheKeyAndItemItHolds_forTheLog() {
        assertThat(read("{\"idempotencyKey\":\"k\",\"itemId\":\"%s\"}".formatted(ITEM))).isInstanceOfSatisfying(Poison.class,
                p -> assertThat(p.known()).isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "k", LogFields.ITEM_ID, ITEM.toString())));
        assertThat(read("{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",\"itemId\":7}".formatted("k".repeat(300), USER)))
                .isInstanceOfSatisfying(Poison.class, p -> assertThat(p.known()).isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "k".repeat(200) + "...")));
        assertThat(read("not json")).isInstanceOfSatisfying(Poison.class, p -> assertThat(p.known()).isEmpty());
    }

    @Test
    void quantityBeyondAnInteger_isASchemaViolation() {
        assertPoison(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":99999999999}"
                .formatted(USER, ITEM)), Reason.SCHEMA_VIOLATION, "/quantity");
        assertPoison(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":1.5}"
                .formatted(USER, ITEM)), Reason.SCHEMA_VIOLATION, "/quantity");
    }

    @Test
    void brokenJson_isMalformed() {
        assertPoison(read("{\"idempotencyKey\": \"k\""), Reason.MALFORMED_JSON, "");
        assertPoison(read("{\"a\":1} trailing"), Reason.MALFORMED_JSON, "");
        assertPoison(read("{\"idempotencyKey\":\"a\",\"idempotencyKey\":\"b\"}"), Reason.MALFORMED_JSON, "idempotencyKey");
        assertPoison(read(""), Reason.MALFORMED_JSON, "");
        assertThat(reader.read(null)).isInstanceOf(Poison.class);
    }

    @Test
    void wrongShapes_areSchemaViolationsNamingTheField() {
        assertPoison(read("[1,2]"), Reason.SCHEMA_VIOLATION, "");
        assertPoison(read("{\"idempotencyKey\":\"k\",\"userId\":\"nope\",\"itemId\":\"%s\"}".formatted(ITEM)),
                Reason.SCHEMA_VIOLATION, "/userId");
        assertPoison(read("{\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(USER, ITEM)),
                Reason.SCHEMA_VIOLATION, "idempotencyKey");
        assertPoison(read("{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted("k".repeat(201), USER, ITEM)),
                Reason.SCHEMA_VIOLATION, "/idempotencyKey");
        assertPoison(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"quantity\":\"2\"}"
                .formatted(USER, ITEM)), Reason.SCHEMA_VIOLATION, "/quantity");
    }

    @Test
    void schemaValidValuesThatCannotBeKept_arePoisonNotAnException() {
        assertPoison(read("{\"idempotencyKey\":\"k\\u0000\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(USER, ITEM)),
                Reason.UNREPRESENTABLE, "U+0000");
        assertPoison(read("{\"idempotencyKey\":\"k\\ud800\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(USER, ITEM)),
                Reason.UNREPRESENTABLE, "surrogate");
    }

    @Test
    void keyOfTwoHundredCodePoints_isReadThoughItHasMoreChars() {
        String key = "\uD83D\uDED2".repeat(200);
        assertThat(valid(read("{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(key, USER, ITEM)))
                .idempotencyKey().value()).isEqualTo(key);
        assertPoison(read("{\"idempotencyKey\":\"%s\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(key + "x", USER, ITEM)),
                Reason.SCHEMA_VIOLATION, "/idempotencyKey");
    }

    @Test
    void messageOverTheLimit_isOversizedAndNotParsed() {
        assertPoison(reader.read(new byte[1025]), Reason.OVERSIZED, "1025 bytes, the limit is 1024");
    }

    @Test
    void cart_isReadWithItsLinesInOrder_duplicatesKept() {
        PurchaseRequested request = valid(read(cart("{\"itemId\":\"%s\",\"quantity\":2},{\"itemId\":\"%s\",\"quantity\":1},"
                .formatted(ITEM, OTHER) + "{\"itemId\":\"%s\",\"quantity\":3}".formatted(ITEM), ",\"requestedAt\":\"now\"")));
        assertThat(request).isEqualTo(PurchaseRequested.cart(new IdempotencyKey("c"), USER, List.of(
                new PurchaseRequested.Line(ITEM, 2), new PurchaseRequested.Line(OTHER, 1), new PurchaseRequested.Line(ITEM, 3))));
        assertThat(request.isCart()).isTrue();
        assertThat(request.itemId()).isNull();
    }

    @Test
    void cartsOutOfTheirDecidedRanges_areValid_forTheDatabaseToReject() {
        assertThat(valid(read(cart("", ""))).lines()).as("no lines: empty_cart").isEmpty();
        String line = "{\"itemId\":\"%s\",\"quantity\":1}".formatted(ITEM);
        assertThat(valid(wide.read(cart(String.join(",", Collections.nCopies(51, line)), "").getBytes(StandardCharsets.UTF_8)))
                .lines()).as("51 lines: too_many_lines").hasSize(51);
        assertThat(valid(read(cart(line + ",{\"itemId\":\"%s\",\"quantity\":0}".formatted(OTHER), ""))).lines())
                .as("quantity 0: invalid_quantity").extracting(PurchaseRequested.Line::quantity).containsExactly(1, 0);
        assertThat(valid(read(cart("{\"itemId\":\"%s\",\"quantity\":5000}".formatted(OTHER), ""))).lines())
                .extracting(PurchaseRequested.Line::quantity).containsExactly(5000);
    }

    @Test
    void malformedCarts_arePoisonNamingWhatIsWrong() {
        String line = "{\"itemId\":\"%s\",\"quantity\":1}".formatted(ITEM);
        assertPoison(read(cart(line, ",\"itemId\":\"%s\"".formatted(ITEM))), Reason.SCHEMA_VIOLATION, "/itemId");
        assertPoison(read(cart(line, ",\"quantity\":1")), Reason.SCHEMA_VIOLATION, "/quantity");
        assertPoison(read(cart("{\"quantity\":1}", "")), Reason.SCHEMA_VIOLATION, "/lines/0: required property 'itemId'");
        assertPoison(read(cart(line + ",{\"itemId\":\"%s\"}".formatted(OTHER), "")), Reason.SCHEMA_VIOLATION,
                "/lines/1: required property 'quantity'");
        assertPoison(read(cart("{\"itemId\":\"%s\",\"quantity\":1,\"price\":10}".formatted(ITEM), "")),
                Reason.SCHEMA_VIOLATION, "/lines/0: property 'price'");
        assertPoison(read(cart("{\"itemId\":\"%s\",\"quantity\":1.5}".formatted(ITEM), "")), Reason.SCHEMA_VIOLATION,
                "/lines/0/quantity");
        assertPoison(read(cart("{\"itemId\":\"%s\",\"quantity\":\"2\"}".formatted(ITEM), "")), Reason.SCHEMA_VIOLATION,
                "/lines/0/quantity");
        assertPoison(read(cart("{\"itemId\":\"%s\",\"quantity\":99999999999}".formatted(ITEM), "")), Reason.SCHEMA_VIOLATION,
                "/lines/0/quantity");
        assertPoison(read(cart("{\"itemId\":\"nope\",\"quantity\":1}", "")), Reason.SCHEMA_VIOLATION, "/lines/0/itemId");
        assertPoison(read("{\"idempotencyKey\":\"c\",\"userId\":\"%s\",\"lines\":{}}".formatted(USER)),
                Reason.SCHEMA_VIOLATION, "/lines");
        assertPoison(read("{\"idempotencyKey\":\"c\",\"userId\":\"%s\"}".formatted(USER)), Reason.SCHEMA_VIOLATION, "itemId");
    }

    @Test
    void aDecidedRangeElsewhereInAPoisonousCart_doesNotMakeItValid() {
        assertPoison(read(cart("{\"itemId\":\"%s\",\"quantity\":0,\"note\":1}".formatted(ITEM), "")), Reason.SCHEMA_VIOLATION,
                "/lines/0: property 'note'");
        assertPoison(read(cart("", ",\"itemId\":\"%s\"".formatted(ITEM))), Reason.SCHEMA_VIOLATION, "/itemId");
    }

    @Test
    void aCartIsNamedInTheLogByItsKeyAlone() {
        var request = valid(read(cart("{\"itemId\":\"%s\",\"quantity\":1}".formatted(ITEM), "")));
        assertThat(reader.logFields(request)).isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "c"));
        assertThat(reader.logFields(new PurchaseRequested(new IdempotencyKey("k"), USER, ITEM, 1)))
                .isEqualTo(Map.of(LogFields.IDEMPOTENCY_KEY, "k", LogFields.ITEM_ID, ITEM.toString()));
    }

    /** A cart of the given lines (JSON, comma-separated), key "c", with more top-level fields appended. */
    private static String cart(String lines, String more) {
        return "{\"idempotencyKey\":\"c\",\"userId\":\"%s\",\"lines\":[%s]%s}".formatted(USER, lines, more);
    }

    @Test
    void holdFor_asksForAHold_ofOneItemOrACart() {
        assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"holdFor\":\"PT5M\"}"
                .formatted(USER, ITEM)))).isEqualTo(new PurchaseRequested(new IdempotencyKey("k"), USER, ITEM, 1, null,
                Duration.ofMinutes(5)));
        assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"lines\":[{\"itemId\":\"%s\",\"quantity\":2}],\"holdFor\":\"PT0.5S\"}"
                .formatted(USER, ITEM)))).isEqualTo(PurchaseRequested.cart(new IdempotencyKey("k"), USER,
                List.of(new PurchaseRequested.Line(ITEM, 2))).withHoldFor(Duration.ofMillis(500)));
        assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\"}".formatted(USER, ITEM))).holdFor())
                .as("absent: buy now").isNull();
    }

    @Test
    void holdForOutOfRange_isNotPoisonButLeftToTheDecision() {
        for (String holdFor : new String[] {"PT0S", "PT-5M", "P30D"}) {
            assertThat(valid(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"holdFor\":\"%s\"}"
                    .formatted(USER, ITEM, holdFor))).holdFor()).isEqualTo(Duration.parse(holdFor));
        }
    }

    @Test
    void holdForThatIsNoDuration_isASchemaViolationSayingSo() {
        for (String holdFor : new String[] {"\"5 minutes\"", "\"P1M\"", "300", "\"\""}) {
            assertThat(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"holdFor\":%s}"
                    .formatted(USER, ITEM, holdFor))).as(holdFor).isInstanceOfSatisfying(Poison.class, p -> {
                        assertThat(p.reason()).isEqualTo(Reason.SCHEMA_VIOLATION);
                        assertThat(p.detail()).contains("/holdFor");
                    });
        }
        for (String holdFor : new String[] {"P", "PT", "PT9999999999999999999H"}) {
            assertThat(read("{\"idempotencyKey\":\"k\",\"userId\":\"%s\",\"itemId\":\"%s\",\"holdFor\":\"%s\"}"
                    .formatted(USER, ITEM, holdFor))).as(holdFor).isInstanceOfSatisfying(Poison.class, p -> {
                        assertThat(p.reason()).isEqualTo(Reason.SCHEMA_VIOLATION);
                        assertThat(p.detail()).startsWith("/holdFor: \"" + holdFor
                                + "\" is no ISO-8601 duration java.time.Duration reads (Text cannot be parsed to a Duration");
                        assertThat(p.known()).containsEntry(LogFields.IDEMPOTENCY_KEY, "k");
                    });
        }
    }

    private static PurchaseRequested valid(RequestReader.Read<PurchaseRequested> read) {
        assertThat(read).as("%s", read).isInstanceOf(Valid.class);
        return ((Valid<PurchaseRequested>) read).request();
    }

    private static void assertPoison(RequestReader.Read<?> read, Reason reason, String detail) {
        assertThat(read).isInstanceOfSatisfying(Poison.class, p -> {
            assertThat(p.reason()).isEqualTo(reason);
            assertThat(p.detail()).contains(detail);
        });
    }
}
