package io.github.checkout.operator;

import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The operators' two database functions: {@code audit_violations()} and {@code restock_item(...)}. */
@Repository
public class StockOperations {

    /** One broken invariant: which check found it and what exactly is wrong. */
    public record Violation(String check, String detail) {
    }

    private final JdbcClient jdbc;

    public StockOperations(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** The name of every check the audit makes, in the order it reports them: one view each, in R__audit.sql. */
    public List<String> checks() {
        return jdbc.sql("select * from audit_checks()").query(String.class).list();
    }

    /** Every violation in the database, from one consistent snapshot; empty when the database is sound. */
    public List<Violation> audit() {
        return jdbc.sql("select check_name, detail from audit_violations()")
                .query((rs, n) -> new Violation(rs.getString("check_name"), rs.getString("detail")))
                .list();
    }

    /**
     * Adds {@code delta} (negative: a correction) to the item's stock through the ledger, in its own
     * transaction, and returns the new stock. The database refuses an unknown item, a zero delta and
     * a correction that would take stock below zero.
     */
    public int restock(UUID item, int delta, String operator, String note) {
        return jdbc.sql("select restock_item(:item, :delta, :operator, :note)")
                .param("item", item).param("delta", delta).param("operator", operator).param("note", note)
                .query(Integer.class).single();
    }
}
