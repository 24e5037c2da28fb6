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

-- Each order line's refunded quantity equals the sum of its refund lines and never exceeds its quantity;
-- an order's refunded quantity is the sum of its lines', each refund decision's quantity the sum of its
-- lines, and an order's status follows from it. Defence in depth for some of the parts: check constraints
-- keep refunded quantities between 0 and quantity, and decide_refunds refuses to refund more than is left,
-- so refunds that add up to more than a line can only be written by hand.
create or replace view audit_refunds_within_order (detail) as
select format('order %s line of item %s has %s of %s refunded', l.order_id, l.item_id, l.refunded_quantity, l.quantity)
from order_lines l where l.refunded_quantity > l.quantity or l.refunded_quantity < 0
union all
select format('order %s line of item %s has %s refunded but its refund lines add up to %s',
              l.order_id, l.item_id, l.refunded_quantity, coalesce(r.total, 0))
from order_lines l
left join (select order_id, item_id, sum(quantity) as total from refund_lines group by order_id, item_id) r
       on r.order_id = l.order_id and r.item_id = l.item_id
where l.refunded_quantity <> coalesce(r.total, 0)
union all
select format('refund lines of order %s put back %s of item %s, which the order has no line for', r.order_id, r.total,
              r.item_id)
from (select order_id, item_id, sum(quantity) as total from refund_lines group by order_id, item_id) r
where not exists (select 1 from order_lines l where l.order_id = r.order_id and l.item_id = r.item_id)
union all
select format('order %s has %s refunded but its lines have %s', o.id, o.refunded_quantity, l.total)
from orders o
join (select order_id, sum(refunded_quantity) as total from order_lines group by order_id) l on l.order_id = o.id
where o.refunded_quantity <> l.total
union all
select format('refund %s of order %s put back %s, but its refund lines add up to %s',
              d.idempotency_key, d.order_id, d.quantity, coalesce(r.total, 0))
from refund_decisions d
left join (select refund_key, sum(quantity) as total from refund_lines group by refund_key) r
       on r.refund_key = d.idempotency_key
where d.outcome = 'ORDER_REFUNDED' and d.quantity is distinct from r.total
union all
select format('refund lines under key %s, which decided no refund of order %s', r.refund_key, r.order_id)
from refund_lines r
where not exists (select 1 from refund_decisions d
                  where d.idempotency_key = r.refund_key and d.outcome = 'ORDER_REFUNDED' and d.order_id = r.order_id)
union all
select format('order %s is %s with %s of %s refunded', o.id, o.status, o.refunded_quantity, o.quantity)
from orders o
where o.status <> case when o.refunded_quantity = 0 then 'created'
                       when o.refunded_quantity = o.quantity then 'refunded'
                       else 'partially_refunded' end;

-- Every sale and every refund in the ledger traces to exactly one decision, every order line and every
-- refund line has exactly one ledger entry, and a row's delta is what its order lines took or its refund
-- line gave back. A 'sale' row (written before V4) sells one order, a 'sales' row each order it names,
-- of its item.
create or replace view audit_one_decision_per_request (detail) as
with sale_entries as (
    select l.id, l.item_id, l.delta, l.order_id from stock_ledger l where l.reason = 'sale'
    union all
    select l.id, l.item_id, l.delta, s.order_id
    from stock_ledger l cross join unnest(l.order_ids) as s(order_id)
    where l.reason = 'sales')
select format('order %s line of item %s has %s sale rows in the ledger, not one', o.order_id, o.item_id, coalesce(s.n, 0))
from order_lines o
left join (select order_id, item_id, count(*) as n from sale_entries group by order_id, item_id) s
       on s.order_id = o.order_id and s.item_id = o.item_id
where s.n is distinct from 1
union all
select format('ledger row %s is a sale of order %s, which has no line for item %s', e.id, e.order_id, e.item_id)
from sale_entries e
where not exists (select 1 from order_lines o where o.order_id = e.order_id and o.item_id = e.item_id)
union all
select format('ledger row %s takes %s from stock for order lines of %s', e.id, -e.delta, e.total)
from (select e.id, e.delta, sum(o.quantity) as total
      from sale_entries e join order_lines o on o.order_id = e.order_id and o.item_id = e.item_id
      group by e.id, e.delta) e
where e.delta <> -e.total
union all
select format('refund %s of order %s line of item %s has %s ledger rows adding up to %s, not one of %s',
              r.refund_key, r.order_id, r.item_id, coalesce(l.n, 0), coalesce(l.total, 0), r.quantity)
from refund_lines r
left join (select refund_key, item_id, count(*) as n, sum(delta) as total from stock_ledger
           where reason = 'refund' group by refund_key, item_id) l on l.refund_key = r.refund_key and l.item_id = r.item_id
where l.n is distinct from 1 or l.total <> r.quantity
union all
select format('ledger row %s refunds order %s item %s under key %s, which decided no such refund',
              l.id, l.order_id, l.item_id, l.refund_key)
from stock_ledger l
where l.reason = 'refund'
  and not exists (select 1 from refund_lines r
                  where r.refund_key = l.refund_key and r.order_id = l.order_id and r.item_id = l.item_id);

-- A cart's decision and its lines agree: an order's quantity is the sum of its lines, and every line of
-- an order, and only of an order, carries its order id.
create or replace view audit_cart_lines (detail) as
select format('cart order %s has quantity %s but its lines add up to %s', d.order_id, d.quantity, coalesce(l.total, 0))
from purchase_decisions d
left join (select idempotency_key, sum(quantity) as total from purchase_lines group by idempotency_key) l
       on l.idempotency_key = d.idempotency_key
where d.lines_digest is not null and d.order_id is not null and d.quantity is distinct from l.total
union all
select format('line %s of cart %s names order %s, but the cart decided %s', l.line_no, l.idempotency_key,
              coalesce(l.order_id::text, 'none'), coalesce(d.order_id::text, 'none'))
from purchase_lines l
left join purchase_decisions d on d.idempotency_key = l.idempotency_key
where d.lines_digest is null or l.order_id is distinct from d.order_id;

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
