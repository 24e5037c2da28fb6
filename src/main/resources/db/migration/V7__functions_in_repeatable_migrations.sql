-- From here on, every function, trigger and view is defined in one repeatable migration per feature,
-- as it stands now: R__purchase.sql, R__refund.sql, R__ledger.sql and R__audit.sql. Flyway runs them
-- after the versioned migrations, and again whenever one changes. The versioned migrations keep the
-- tables and the data changes; the function bodies in V1 to V6 are history, replaced by those files.
--
-- This migration prepares the tables for that layout.

-- Nothing may decide, refund or change stock while the ledger changes shape.
lock table items, stock_ledger, purchase_decisions, refund_decisions in exclusive mode;

-- 1. Each ledger row carries the item's stock after it. The functions that change stock write their
--    ledger rows themselves, then the item; a trigger only checks, once per statement, that the item's
--    newest ledger row holds its new stock, and records any other change (a direct update by hand) as a
--    correction. Until now the trigger learnt where a change came from through transaction-local
--    settings.
alter table stock_ledger add column balance integer;

update stock_ledger l set balance = r.running
from (select id, sum(delta) over (partition by item_id order by id)::integer as running from stock_ledger) r
where r.id = l.id;

alter table stock_ledger alter column balance set not null;

-- 2. The stock triggers and the functions that only the old layout used. Their replacements are in
--    R__ledger.sql (triggers) and in the batch functions themselves (replays).
drop trigger if exists items_stock_change on items;
drop trigger if exists items_initial_stock on items;
drop function if exists record_stock_change();
drop function if exists record_initial_stock();
drop function if exists change_stock(uuid, integer, text, uuid, text, text, text);
drop function if exists replay_decision(purchase_decisions, uuid, uuid, integer);
drop function if exists replay_refund(refund_decisions, uuid, integer, text);

-- 3. Databases migrated by the first releases of V2 still have a foreign key from the ledger to items,
--    which later releases of V2 left out (it share-locked the item for every ledger row). Dropped here,
--    so that every database has the same tables whichever release first migrated it.
alter table stock_ledger drop constraint if exists stock_ledger_item_id_fkey;
