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

-- Every sale (of a confirmed hold: its 'hold_confirmed' row) and every refund in the ledger traces to exactly one decision, every order line and every
-- refund line has exactly one ledger entry, and a row's delta is what its order lines took or its refund
-- line gave back. A 'sale' row (written before V4) sells one order, a 'sales' row each order it names,
-- of its item.
create or replace view audit_one_decision_per_request (detail) as
with sale_entries as (
    select l.id, l.item_id, l.delta, l.order_id from stock_ledger l where l.reason = 'sale'
    union all
    select l.id, l.item_id, l.delta, s.order_id
    from stock_ledger l cross join unnest(l.order_ids) as s(order_id)
    where l.reason = 'sales'
    union all
    -- A confirmed hold's stock left stock when it was held: its sale is the held units it takes.
    select l.id, l.item_id, l.held_delta, s.order_id
    from stock_ledger l cross join unnest(l.order_ids) as s(order_id)
    where l.reason = 'hold_confirmed')
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

-- Holds (V9): each item's held units are those of its live holds and the sum of its ledger's held_delta; every
-- line of a hold has exactly one 'holds' row in the ledger, and exactly one row ending it (the one its status
-- names) once it ended, none while it lives: no hold ended twice. Each row's held_delta is what its holds' lines
-- add up to; every hold has its decision, and a confirmed one the order that decision became.
create or replace view audit_holds (detail) as
with entries as (
    select l.id, l.item_id, l.reason, l.held_delta, e.reservation_id
    from stock_ledger l cross join unnest(l.reservation_ids) as e(reservation_id)
    where l.reservation_ids is not null)
select format('item %s has %s held but its live holds add up to %s', i.id, i.held, coalesce(h.total, 0))
from items i
left join (select l.item_id, sum(l.quantity) as total
           from reservation_lines l join reservations r on r.id = l.reservation_id
           where r.status = 'held' group by l.item_id) h on h.item_id = i.id
where i.held <> coalesce(h.total, 0)
union all
select format('item %s has %s held but its ledger''s held_delta adds up to %s', i.id, i.held, coalesce(l.total, 0))
from items i
left join (select item_id, sum(held_delta) as total from stock_ledger group by item_id) l on l.item_id = i.id
where i.held <> coalesce(l.total, 0)
union all
select format('hold %s line of item %s has %s ''holds'' rows in the ledger, not one', h.reservation_id, h.item_id,
              coalesce(e.n, 0))
from reservation_lines h
left join (select reservation_id, item_id, count(*) as n from entries where reason = 'holds'
           group by reservation_id, item_id) e on e.reservation_id = h.reservation_id and e.item_id = h.item_id
where e.n is distinct from 1
union all
select format('hold %s is %s, but its line of item %s has %s', r.id, r.status, h.item_id,
              coalesce(e.n || ' ending rows in the ledger (' || e.reasons || ')', 'no ending row in the ledger'))
from reservation_lines h
join reservations r on r.id = h.reservation_id
left join (select reservation_id, item_id, count(*) as n, string_agg(reason, ', ' order by id) as reasons
           from entries where reason <> 'holds' group by reservation_id, item_id) e
       on e.reservation_id = h.reservation_id and e.item_id = h.item_id
where coalesce(e.n, 0) <> case when r.status = 'held' then 0 else 1 end
   or (r.status <> 'held' and e.reasons <> 'hold_' || r.status)
union all
select format('ledger row %s (%s) names hold %s, which has no line of item %s', e.id, e.reason, e.reservation_id, e.item_id)
from entries e
where not exists (select 1 from reservation_lines h where h.reservation_id = e.reservation_id and h.item_id = e.item_id)
union all
select format('ledger row %s (%s) moves %s held units for hold lines of %s', e.id, e.reason, e.held_delta, e.total)
from (select e.id, e.reason, e.held_delta, sum(h.quantity) as total
      from entries e join reservation_lines h on h.reservation_id = e.reservation_id and h.item_id = e.item_id
      group by e.id, e.reason, e.held_delta) e
where e.held_delta <> case when e.reason = 'holds' then e.total else -e.total end
union all
select format('hold %s has no decision that placed it', r.id)
from reservations r
where not exists (select 1 from purchase_decisions d
                  where d.idempotency_key = r.idempotency_key and d.reservation_id = r.id and d.outcome = 'STOCK_RESERVED')
union all
select format('decision %s placed hold %s, which does not exist', d.idempotency_key, d.reservation_id)
from purchase_decisions d
where d.reservation_id is not null and not exists (select 1 from reservations r where r.id = d.reservation_id)
union all
select format('hold %s is %s with order %s, but its decision has order %s', r.id, r.status,
              coalesce(r.order_id::text, 'none'), coalesce(d.order_id::text, 'none'))
from reservations r join purchase_decisions d on d.idempotency_key = r.idempotency_key
where r.order_id is distinct from d.order_id
union all
select format('hold %s was ended by %s decisions (%s)', x.reservation_id, x.n, x.keys)
from (select reservation_id, count(*) as n, string_agg(idempotency_key, ', ' order by idempotency_key) as keys
      from reservation_decisions where outcome in ('ORDER_CREATED', 'RESERVATION_RELEASED')
      group by reservation_id) x
where x.n > 1
union all
select format('hold %s is %s by %s, but that key decided %s', r.id, r.status, r.ended_by, coalesce(d.outcome, 'nothing'))
from reservations r
left join reservation_decisions d on d.idempotency_key = r.ended_by
where r.ended_by is not null
  and (d.outcome is distinct from case r.status when 'confirmed' then 'ORDER_CREATED' else 'RESERVATION_RELEASED' end
       or d.reservation_id <> r.id);

-- Nothing is made or lost: for every item, stock + held + sold - refunded = initial + restocked (the ledger's
-- 'initial', 'restock' and 'correction' rows), with sold and refunded counted from the order and refund lines.
create or replace view audit_stock_conserved (detail) as
select format('item %s: stock %s + held %s + sold %s - refunded %s = %s, but initial and restocked add up to %s',
              i.id, i.stock, i.held, coalesce(o.sold, 0), coalesce(r.refunded, 0),
              i.stock + i.held + coalesce(o.sold, 0) - coalesce(r.refunded, 0), coalesce(l.supplied, 0))
from items i
left join (select item_id, sum(quantity) as sold from order_lines group by item_id) o on o.item_id = i.id
left join (select item_id, sum(quantity) as refunded from refund_lines group by item_id) r on r.item_id = i.id
left join (select item_id, sum(delta) as supplied from stock_ledger
           where reason in ('initial', 'restock', 'correction') group by item_id) l on l.item_id = i.id
where i.stock + i.held + coalesce(o.sold, 0) - coalesce(r.refunded, 0) <> coalesce(l.supplied, 0);

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
