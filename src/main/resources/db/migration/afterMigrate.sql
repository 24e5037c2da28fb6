-- Runs after every migrate, whether anything was pending or not: what the role the service connects as may
-- do. ${service_role} is that role (spring.datasource.username; config.ServiceRole fills it in), which need
-- not be the one that migrates and owns everything here (spring.flyway.user): db/roles.sql creates the
-- two. It may call the functions the service and its operator commands call, and nothing else: it can
-- change no table, read none but through these functions, and create nothing. Those functions that write
-- or read tables run with their owner's rights, on this schema alone, and nobody else may call them
-- (the end of R__purchase.sql). Granting here, not beside each function, gives the grants back to a
-- function that a changed repeatable migration dropped and created anew. With one role for both, it owns
-- everything already and this changes nothing.
grant usage on schema "${flyway:defaultSchema}" to "${service_role}";
grant execute on function decide_purchases, decide_refunds, decide_reservations, sweep_reservations, place_orders, refund_orders,
    restock_item, audit_checks, audit_violations
    to "${service_role}";
