package io.github.checkout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.github.checkout.operator.OperatorCommands;
import io.github.checkout.support.Concurrently;
import io.github.checkout.support.IntegrationTestSupport;
import io.github.checkout.support.OutcomeCollector;
import io.github.checkout.support.TestInfrastructure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * The service on a database of its own, set up by db/roles.sql as the README tells administrators to:
 * Flyway migrates as the owning role, and the service and its operator commands run as the service role.
 * Everything works, and that role is refused every write and every change of the schema but through
 * the functions it is granted. The application's {@code jdbc} is the service role's, so the audit after
 * each test runs as it too.
 */
@DirtiesContext
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = {
        "checkout.topics.purchase-requests=" + LeastPrivilegeIT.PURCHASE_TOPIC,
        // The shared dead-letter topics, which the outcome collector reads.
        "checkout.topics.purchase-requests-dead-letter=purchase-requests.DLT",
        "checkout.topics.refund-requests=" + LeastPrivilegeIT.REFUND_TOPIC,
        "checkout.topics.refund-requests-dead-letter=refund-requests.DLT",
        "checkout.groups.purchases=least-privilege-it",
        "checkout.groups.refunds=least-privilege-it-refunds"})
class LeastPrivilegeIT extends IntegrationTestSupport {

    static final String PURCHASE_TOPIC = "least-privilege-purchase-requests";
    static final String REFUND_TOPIC = "least-privilege-refund-requests";

    private static final String OWNER = "checkout_owner";
    private static final String SERVICE = "checkout_service";
    private static final Map<String, String> PASSWORDS = Map.of(
            "CHECKOUT_OWNER_PASSWORD", "owner-" + UUID.randomUUID(),
            "CHECKOUT_SERVICE_PASSWORD", "service-" + UUID.randomUUID());
    private static final String DATABASE = "least_privilege_" + UUID.randomUUID().toString().replace("-", "");

    private static SingleConnectionDataSource ownerConnection;

    @DynamicPropertySource
    static void asTheServiceRole(DynamicPropertyRegistry registry) {
        createDatabaseWithTheRoles();
        // Onto the pool after spring.datasource.*, so these win over the shared infrastructure's; Flyway
        // derives its connection from the pool's, with the owner's credentials.
        registry.add("spring.datasource.hikari.jdbc-url", LeastPrivilegeIT::url);
        registry.add("spring.datasource.hikari.username", () -> SERVICE);
        registry.add("spring.datasource.hikari.password", () -> PASSWORDS.get("CHECKOUT_SERVICE_PASSWORD"));
        registry.add("spring.flyway.user", () -> OWNER);
        registry.add("spring.flyway.password", () -> PASSWORDS.get("CHECKOUT_OWNER_PASSWORD"));
    }

    @AfterAll
    static void dropDatabaseAndRoles() {
        if (ownerConnection != null) {
            ownerConnection.destroy();
        }
        SingleConnectionDataSource admin = Concurrently.connection();
        try {
            JdbcClient db = JdbcClient.create(admin);
            db.sql("drop database if exists " + DATABASE + " with (force)").update();
            db.sql("drop role if exists " + SERVICE).update();
            db.sql("drop role if exists " + OWNER).update();
        } finally {
            admin.destroy();
        }
    }

    @Test
    void serviceRole_isRefusedEveryWriteRead_andChangeOfTheSchema_butThroughItsFunctions() {
        JdbcClient owner = owner();
        UUID item = ownerItem(owner, 5);
        UUID order = jdbc.sql("select order_id from place_orders(array['direct'], array[gen_random_uuid()], array[:item]::uuid[], array[1])")
                .param("item", item).query(UUID.class).single();

        for (String refused : List.of(
                "update items set stock = 100 where id = :item",
                "insert into items (id, stock) values (gen_random_uuid(), 1)",
                "delete from stock_ledger where item_id = :item",
                "insert into orders (id, idempotency_key, user_id, item_id, quantity) values (gen_random_uuid(), 'x', gen_random_uuid(), :item, 1)",
                "update purchase_decisions set refunded_quantity = 1 where item_id = :item",
                "insert into refund_decisions select * from refund_decisions",
                "select stock from items where id = :item",
                "drop table items",
                "truncate stock_ledger",
                "alter table items drop constraint items_stock_check",
                "create table intruder (id int)",
                "create or replace function max_purchase_quantity() returns integer language sql as 'select 1000000'",
                "drop function place_orders")) {
            Throwable thrown = catchThrowable(() -> jdbc.sql(refused).param("item", item).update());
            assertThat(thrown).as(refused).isInstanceOf(DataAccessException.class);
            assertThat(sqlState((DataAccessException) thrown)).as(refused).isEqualTo("42501");
        }

        assertThat(owner.sql("select stock from items where id = :item").param("item", item).query(Integer.class).single()).isEqualTo(4);
        assertThat(owner.sql("select count(*) from stock_ledger where item_id = :item").param("item", item).query(Integer.class).single()).isEqualTo(2);
        assertThat(owner.sql("select count(*) from orders where id = :order").param("order", order).query(Integer.class).single()).isOne();
        // Flyway migrated as the owner, which owns every table.
        assertThat(owner.sql("select distinct tableowner from pg_tables where schemaname = 'public'").query(String.class).list())
                .containsExactly(OWNER);
        // Each function that runs with its owner's rights pins its search path, and only the owner and the
        // service may call it.
        assertThat(owner.sql("""
                        select p.proname || ' ' || array_to_string(p.proconfig, ';') || ' '
                               || coalesce((select string_agg(case a.grantee when 0 then 'public' else a.grantee::regrole::text end, ','
                                                              order by case a.grantee when 0 then 'public' else a.grantee::regrole::text end)
                                            from aclexplode(p.proacl) a), 'public')
                        from pg_proc p where p.pronamespace = 'public'::regnamespace and p.prosecdef order by p.proname""")
                .query(String.class).list()).containsExactly(
                "audit_violations search_path=public, pg_temp checkout_owner,checkout_service",
                "decide_purchases search_path=public, pg_temp checkout_owner,checkout_service",
                "decide_refunds search_path=public, pg_temp checkout_owner,checkout_service",
                "decide_reservations search_path=public, pg_temp checkout_owner,checkout_service",
                "place_orders search_path=public, pg_temp checkout_owner,checkout_service",
                "refund_orders search_path=public, pg_temp checkout_owner,checkout_service",
                "restock_item search_path=public, pg_temp checkout_owner,checkout_service",
                "sweep_reservations search_path=public, pg_temp checkout_owner,checkout_service");
    }

    @Test
    void aTemporaryTableOfTheServiceRole_cannotStandInForATableOfItsFunctions() {
        // Temporary tables come first on a session's search path: a function that ran with its owner's
        // rights on the caller's path would sell from this one, an item with no stock anywhere else.
        SingleConnectionDataSource session = new SingleConnectionDataSource(url(), SERVICE, PASSWORDS.get("CHECKOUT_SERVICE_PASSWORD"), true);
        try {
            JdbcClient service = JdbcClient.create(session);
            UUID fake = UUID.randomUUID();
            service.sql("create temporary table items (id uuid primary key, name text, stock integer, created_at timestamptz)").update();
            service.sql("insert into items (id, stock) values (:id, 1000)").param("id", fake).update();
            service.sql("grant all on items to public").update();

            assertThat(service.sql("select outcome || ' ' || error_code from place_orders(array['fake'], array[gen_random_uuid()], array[:id]::uuid[], array[1])")
                    .param("id", fake).query(String.class).single()).isEqualTo("REJECTED item_not_found");
        } finally {
            session.destroy();
        }
    }

    @Test
    void purchasesAndRefunds_areDecidedByTheServiceRunningAsTheServiceRole() {
        UUID item = ownerItem(owner(), 1);
        UUID first = UUID.randomUUID();
        String bought = "buy-" + UUID.randomUUID();
        String tooLate = "late-" + UUID.randomUUID();

        purchase(bought, first, item);
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forRequest(bought).size() == 1);
        purchase(tooLate, UUID.randomUUID(), item);
        purchase(bought, first, item);
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forItem(item).size() == 3);

        List<OutcomeCollector.Outcome> answers = outcomes().forRequest(bought);
        assertThat(answers).map(OutcomeCollector.Outcome::topic).containsExactly("order-created", "order-created");
        assertThat(answers.get(1).value()).isEqualTo(answers.get(0).value());
        assertThat(outcomes().forRequest(tooLate)).map(OutcomeCollector.Outcome::topic).containsExactly("out-of-stock");

        String refund = "refund-" + UUID.randomUUID();
        UUID order = UUID.fromString(answers.get(0).text("orderId"));
        send(new ProducerRecord<>(REFUND_TOPIC, order.toString(),
                refundJson(refund, order, null, "returned").getBytes(StandardCharsets.UTF_8)));
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forRequest(refund).size() == 1);

        assertThat(outcomes().forRequest(refund)).map(OutcomeCollector.Outcome::topic).containsExactly("order-refunded");
        assertThat(owner().sql("select stock from items where id = :item").param("item", item).query(Integer.class).single()).isOne();
        assertThat(outcomes().deadLetters()).noneMatch(o -> o.record().value().contains(item.toString()));
    }

    @Test
    void aMissingGrant_holdsPurchasesBackUntilGranted_neverDeadLettersThem() {
        UUID item = ownerItem(owner(), 2);
        // A first purchase of the item, on the partition of the second: its consumer is running.
        String first = "first-" + UUID.randomUUID();
        purchase(first, UUID.randomUUID(), item);
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forRequest(first).size() == 1);
        String key = "held-" + UUID.randomUUID();
        owner().sql("revoke execute on function decide_purchases from " + SERVICE).update();
        try {
            purchase(key, UUID.randomUUID(), item);
            await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> outcomes().forRequest(key).isEmpty()
                    && outcomes().deadLetters().stream().noneMatch(o -> o.record().value().contains(key)));
        } finally {
            owner().sql("grant execute on function decide_purchases to " + SERVICE).update();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes().forRequest(key).size() == 1);
        assertThat(outcomes().forRequest(key)).map(OutcomeCollector.Outcome::topic).containsExactly("order-created");
        assertThat(outcomes().deadLetters()).noneMatch(o -> o.record().value().contains(item.toString()));
    }

    @Test
    void operatorCommands_runAsTheServiceRole_andMigrateNothing_evenWithTheOwnersCredentialsAndAMigrationPending(CapturedOutput output) {
        JdbcClient owner = owner();
        UUID item = ownerItem(owner, 2);
        // R__audit.sql as if it had changed since it last ran: a migrate would run it again and record that.
        owner.sql("update flyway_schema_history set checksum = checksum + 1 where script = 'R__audit.sql'").update();
        List<Map<String, Object>> history = owner.sql("select * from flyway_schema_history order by installed_rank").query().listOfRows();
        try {
            int restock = OperatorCommands.run(CheckoutApplication.class, asTheServiceWithTheOwnersCredentials(
                    "restock", "--item=" + item, "--delta=50", "--operator=alice"));
            int audit = OperatorCommands.run(CheckoutApplication.class, asTheServiceWithTheOwnersCredentials("audit"));

            assertThat(restock).isEqualTo(OperatorCommands.OK);
            assertThat(audit).isEqualTo(OperatorCommands.OK);
            assertThat(output).contains("Restocked item " + item + " by +50: stock is now 52", "All 7 checks hold.");
            assertThat(owner.sql("select stock from items where id = :item").param("item", item).query(Integer.class).single()).isEqualTo(52);
            assertThat(owner.sql("select * from flyway_schema_history order by installed_rank").query().listOfRows()).isEqualTo(history);
        } finally {
            owner.sql("update flyway_schema_history set checksum = checksum - 1 where script = 'R__audit.sql'").update();
        }
    }

    /** The command's arguments, with the settings a service instance has: its own role, and the owner's for Flyway. */
    private static String[] asTheServiceWithTheOwnersCredentials(String... args) {
        return Stream.concat(Arrays.stream(args), Stream.of(
                "--spring.datasource.url=" + url(),
                "--spring.datasource.username=" + SERVICE,
                "--spring.datasource.password=" + PASSWORDS.get("CHECKOUT_SERVICE_PASSWORD"),
                "--spring.flyway.user=" + OWNER,
                "--spring.flyway.password=" + PASSWORDS.get("CHECKOUT_OWNER_PASSWORD"))).toArray(String[]::new);
    }

    private static void purchase(String key, UUID user, UUID item) {
        send(new ProducerRecord<>(PURCHASE_TOPIC, item.toString(), json(key, user, item, 1).getBytes(StandardCharsets.UTF_8)));
    }

    /** Items are the owner's to add, with plain SQL, as the README says. */
    private static UUID ownerItem(JdbcClient owner, int stock) {
        UUID item = UUID.randomUUID();
        owner.sql("insert into items (id, name, stock) values (:id, 'least privilege', :stock)")
                .param("id", item).param("stock", stock).update();
        return item;
    }

    private static synchronized JdbcClient owner() {
        if (ownerConnection == null) {
            ownerConnection = new SingleConnectionDataSource(url(), OWNER, PASSWORDS.get("CHECKOUT_OWNER_PASSWORD"), true);
        }
        return JdbcClient.create(ownerConnection);
    }

    private static String sqlState(DataAccessException e) {
        return e.getMostSpecificCause() instanceof SQLException sql ? sql.getSQLState() : null;
    }

    /** The shared server's URL, naming this test's database instead. */
    private static String url() {
        return TestInfrastructure.jdbcUrl().replaceFirst("^(jdbc:postgresql://[^/]+/)[^?]*", "$1" + DATABASE);
    }

    /**
     * Creates this test's database and runs db/roles.sql in it as a superuser, the file administrators run
     * with psql: its {@code \getenv} lines read {@link #PASSWORDS} here, and each {@code :'name'} is that
     * variable as a literal, as psql would put it.
     */
    private static void createDatabaseWithTheRoles() {
        String user = (String) TestInfrastructure.springProperties().get("spring.datasource.username");
        String password = (String) TestInfrastructure.springProperties().get("spring.datasource.password");
        SingleConnectionDataSource admin = Concurrently.connection();
        try {
            JdbcClient.create(admin).sql("create database " + DATABASE).update();
        } finally {
            admin.destroy();
        }
        SingleConnectionDataSource inDatabase = new SingleConnectionDataSource(url(), user, password, true);
        try (Statement statement = inDatabase.getConnection().createStatement()) {
            statement.execute(asPsqlWouldRunIt(Files.readString(Path.of("db", "roles.sql"))));
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("db/roles.sql failed", e);
        } finally {
            inDatabase.destroy();
        }
    }

    private static String asPsqlWouldRunIt(String script) {
        Map<String, String> variables = new HashMap<>();
        Matcher getenv = Pattern.compile("(?m)^\\\\getenv (\\w+) (\\w+)$").matcher(script);
        while (getenv.find()) {
            variables.put(getenv.group(1), PASSWORDS.get(getenv.group(2)));
        }
        String sql = script.replaceAll("(?m)^\\\\.*$", "");
        Matcher literal = Pattern.compile(":'(\\w+)'").matcher(sql);
        StringBuilder result = new StringBuilder();
        while (literal.find()) {
            String value = variables.get(literal.group(1));
            assertThat(value).as("psql variable %s", literal.group(1)).isNotNull();
            literal.appendReplacement(result, Matcher.quoteReplacement("'" + value.replace("'", "''") + "'"));
        }
        return literal.appendTail(result).toString();
    }
}
