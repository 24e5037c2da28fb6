-- The audit: every invariant of the service that the data can show.
--
-- Each check is one view here, named audit_<check>, with one row per violation (detail). Nothing else
-- lists the checks: audit_checks() finds them by name, audit_violations() runs them all, and the
-- operators' audit command reports each by name. A check is added by adding its view; one is retired
-- by dropping it below. Any one check can be run on its own: select * from audit_stock_equals_ledger.

-- No item has negative stock, nor had at any point of its ledger.
-- Defence in depth: check constraints forbid negative stock (items.stock >= 0) and the functions never
-- write a row that would take it there, so this fires only if a constraint was dropped or the ledger
-- was written by hand.
create or replace view audit_stock_never_negative (detail) as
select format('item %s has stock %s', i.id, i.stock)
from items i where i.stock < 0
union all
select format('item %s went down to %s with ledger row %s', h.item_id, h.running, h.id)
from (select l.id, l.item_id, sum(l.delta) over (partition by l.item_id order by l.id) as running
      from stock_ledger l) h
where h.running < 0;

-- Each item's stock is the sum of its ledger rows, and each row's balance is the sum of the rows up to it.
create or replace view audit_stock_equals_ledger (detail) as
select format('item %s has stock %s but its ledger adds up to %s', i.id, i.stock, coalesce(l.total, 0))
from items i
left join (select item_id, sum(delta) as total from stock_ledger group by item_id) l on l.item_id = i.id
where i.stock <> coalesce(l.total, 0)
union all
select format('ledger row %s of item %s says the stock after it is %s, but the rows up to it add up to %s',
              h.id, h.item_id, h.balance, h.running)
from (select l.id, l.item_id, l.balance, sum(l.delta) over (partition by l.item_id order by l.id) as running
      from stock_ledger l) h
where h.balance <> h.running;

-- An order's refunded quantity equals the sum of its ORDER_REFUNDED decisions and never exceeds its
-- quantity, and its status follows from it. Defence in depth for two of the parts: a check constraint
-- on purchase_decisions keeps refunded_quantity between 0 and quantity, and refund_orders refuses to
-- refund more than is left, so decisions that add up to more than the order can only be written by hand.
create or replace view audit_refunds_within_order (detail) as
select format('order %s of %s has %s refunded', o.id, o.quantity, o.refunded_quantity)
from orders o where o.refunded_quantity > o.quantity or o.refunded_quantity < 0
union all
select format('order %s has %s refunded but its refund decisions add up to %s',
              o.id, o.refunded_quantity, coalesce(r.total, 0))
from orders o
left join (select order_id, sum(quantity) as total from refund_decisions
           where outcome = 'ORDER_REFUNDED' group by order_id) r on r.order_id = o.id
where o.refunded_quantity <> coalesce(r.total, 0)
union all
select format('refund decisions of order %s add up to %s of %s ordered', r.order_id, r.total, coalesce(o.quantity, 0))
from (select order_id, sum(quantity) as total from refund_decisions
      where outcome = 'ORDER_REFUNDED' group by order_id) r
left join orders o on o.id = r.order_id
where o.id is null or r.total > o.quantity
union all
select format('order %s is %s with %s of %s refunded', o.id, o.status, o.refunded_quantity, o.quantity)
from orders o
where o.status <> case when o.refunded_quantity = 0 then 'created'
                       when o.refunded_quantity = o.quantity then 'refunded'
                       else 'partially_refunded' end;

-- Every sale and every refund in the ledger traces to exactly one decision, every decision that moved
-- stock has exactly one ledger entry, and a row's delta is what its orders or its refund took or gave
-- back. A 'sale' row (written before V4) sells one order, a 'sales' row each order it names.
create or replace view audit_one_decision_per_request (detail) as
with sale_entries as (
    select l.id, l.item_id, l.delta, l.order_id from stock_ledger l where l.reason = 'sale'
    union all
    select l.id, l.item_id, l.delta, s.order_id
    from stock_ledger l cross join unnest(l.order_ids) as s(order_id)
    where l.reason = 'sales')
select format('order %s has %s sale rows in the ledger, not one', o.id, coalesce(s.n, 0))
from orders o
left join (select order_id, count(*) as n from sale_entries group by order_id) s on s.order_id = o.id
where s.n is distinct from 1
union all
select format('ledger row %s is a sale of order %s, which does not exist', e.id, e.order_id)
from sale_entries e
where not exists (select 1 from orders o where o.id = e.order_id and o.item_id = e.item_id)
union all
select format('ledger row %s takes %s from stock for orders of %s', e.id, -e.delta, e.total)
from (select e.id, e.delta, sum(o.quantity) as total
      from sale_entries e join orders o on o.id = e.order_id and o.item_id = e.item_id
      group by e.id, e.delta) e
where e.delta <> -e.total
union all
select format('refund %s of order %s has %s ledger rows adding up to %s, not one of %s',
              d.idempotency_key, d.order_id, coalesce(l.n, 0), coalesce(l.total, 0), d.quantity)
from refund_decisions d
left join (select refund_key, count(*) as n, sum(delta) as total from stock_ledger
           where reason = 'refund' group by refund_key) l on l.refund_key = d.idempotency_key
where d.outcome = 'ORDER_REFUNDED' and (l.n is distinct from 1 or l.total <> d.quantity)
union all
select format('ledger row %s refunds order %s under key %s, which decided no such refund',
              l.id, l.order_id, l.refund_key)
from stock_ledger l
where l.reason = 'refund'
  and not exists (select 1 from refund_decisions d
                  where d.idempotency_key = l.refund_key and d.outcome = 'ORDER_REFUNDED'
                    and d.order_id = l.order_id and d.item_id = l.item_id);

-- The checks, in the order they are reported.
create or replace function audit_checks() returns setof text
    language sql stable as $$
    select substr(v.viewname, length('audit_') + 1)
    from pg_views v
    where v.schemaname = current_schema() and v.viewname like 'audit\_%'
    order by v.viewname
$$;

-- Every violation of every check, as (check_name, detail) rows: no row means the database is sound.
-- Stable, so every check reads the snapshot of the statement that calls it: it can run while the
-- service works.
create or replace function audit_violations()
    returns table (check_name text, detail text)
    language plpgsql stable as $$
declare
    c text;
begin
    for c in select * from audit_checks() loop
        return query execute format('select %L::text, v.detail from %I v order by v.detail', c, 'audit_' || c);
    end loop;
end;
$$;

-- Runs with its owner's rights on this schema alone, so that a role that may read no table can run the
-- audit; callable by the roles afterMigrate.sql names only, as place_orders is (R__purchase.sql).
alter function audit_violations security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function audit_violations from public;
