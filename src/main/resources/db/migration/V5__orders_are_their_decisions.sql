-- An order is the decision that created it. Until V4 a sale wrote its decision and then the same
-- facts again as a row of orders, with three more index entries (its id, its idempotency key, its
-- item); on a hot item those were a third of each sale. Now purchase_decisions holds the order's
-- state too, and orders is a view of the decisions that created one.
--
-- - At most one order per idempotency key is now the primary key itself: one row per key, which
--   created an order or did not. The audit's one_order_per_key checks compared two tables that
--   could disagree; there is only one now, so they are gone.
-- - An order's id is time-ordered (the UUID version 7 layout: milliseconds since 1970, then 74
--   random bits), so the unique index that finds an order by id grows at its right edge instead of
--   taking every new id at a random leaf.
-- - Reading orders is unchanged. Refunds update an order's status and refunded_quantity through
--   the view (PostgreSQL updates the decision row); the decision's own columns never change.

-- Nothing may decide, refund or change stock while the orders move.
lock table items, purchase_decisions, orders, refund_decisions in exclusive mode;

do $$
begin
    if exists (select 1 from orders o
               where not exists (select 1 from purchase_decisions d
                                 where d.order_id = o.id and d.outcome = 'ORDER_CREATED'
                                   and d.idempotency_key = o.idempotency_key and d.user_id = o.user_id
                                   and d.item_id = o.item_id and d.quantity = o.quantity))
       or exists (select 1 from purchase_decisions d
                  where d.outcome = 'ORDER_CREATED' and not exists (select 1 from orders o where o.id = d.order_id)) then
        raise exception 'orders and purchase_decisions disagree; see select * from audit_violations() where check_name = ''one_order_per_key'''
            using hint = 'Repair the orders the audit names, then migrate again.';
    end if;
end;
$$;

alter table purchase_decisions
    add column status            text check (status in ('created', 'partially_refunded', 'refunded')),
    add column refunded_quantity integer check (refunded_quantity >= 0 and refunded_quantity <= quantity);

update purchase_decisions d set status = o.status, refunded_quantity = o.refunded_quantity
from orders o where o.id = d.order_id;

-- An order's state is there exactly when the decision created an order.
alter table purchase_decisions add constraint purchase_decisions_order_state_check
    check ((order_id is null) = (status is null) and (order_id is null) = (refunded_quantity is null));

create unique index purchase_decisions_order_id_key on purchase_decisions (order_id) where order_id is not null;

drop table orders;

create view orders as
select d.order_id as id, d.idempotency_key, d.user_id, d.item_id, d.quantity, d.status, d.refunded_quantity,
       d.decided_at as created_at
from purchase_decisions d
where d.order_id is not null;

-- The order ids of a batch's sales are close in time, so the ledger row that names them compresses
-- well, and compressing it cost a microsecond per sale. It is kept uncompressed.
alter table stock_ledger alter column order_ids set storage external;

-- A new order id: the UUID version 7 layout, with the transaction's time (the order's created_at).
create function new_order_id() returns uuid
    language sql volatile as $$
    select (lpad(to_hex(floor(extract(epoch from now()) * 1000)::bigint), 12, '0') || '7'
            || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid
$$;

-- Whether an item has ever been sold, from its ledger (orders has no index by item any more).
create or replace function refuse_deleting_sold_items() returns trigger
    language plpgsql as $$
begin
    if exists (select 1 from stock_ledger l where l.item_id = old.id and l.reason in ('sale', 'sales')) then
        raise exception 'item % has orders and cannot be deleted', old.id
            using errcode = 'foreign_key_violation';
    end if;
    delete from stock_ledger l where l.item_id = old.id;
    return old;
end;
$$;

-- place_order as in V2, except that the decision is the order.
create or replace function place_order(p_key text, p_user uuid, p_item uuid, p_quantity integer)
    returns table (outcome text, order_id uuid, stock integer, error_code text, decided_at timestamptz)
    language plpgsql as $$
declare
    d          purchase_decisions;
    v_stock    integer;
    v_outcome  text;
    v_error    text;
    v_order_id uuid;
begin
    if p_key is null or p_user is null or p_item is null then
        raise exception 'place_order: idempotency key, user and item are required'
            using errcode = 'null_value_not_allowed';
    end if;

    -- Fast path for redeliveries: answer from the record without touching the item row.
    select * into d from purchase_decisions where idempotency_key = p_key;
    if found then
        return query select * from replay_decision(d, p_user, p_item, p_quantity);
        return;
    end if;

    if p_quantity is null or p_quantity < 1 or p_quantity > max_purchase_quantity() then
        v_outcome := 'REJECTED';
        v_error := 'invalid_quantity';
    else
        -- The row lock serialises every buyer of this item, whichever partition, consumer or
        -- connection the request came through. Stock cannot change until this transaction ends.
        select i.stock into v_stock from items i where i.id = p_item for update;
        if not found then
            v_outcome := 'REJECTED';
            v_error := 'item_not_found';
        elsif v_stock >= p_quantity then
            v_outcome := 'ORDER_CREATED';
            v_order_id := new_order_id();
            v_stock := v_stock - p_quantity;
        else
            v_outcome := 'OUT_OF_STOCK';
        end if;
    end if;

    -- Claim the key before changing anything. A concurrent transaction holding the same key makes
    -- this insert wait until it ends; if it committed, we insert nothing and answer with its
    -- decision instead, so two deliveries of one key always produce one decision.
    insert into purchase_decisions as pd
           (idempotency_key, user_id, item_id, quantity, outcome, order_id, stock, error_code, status,
            refunded_quantity)
    values (p_key, p_user, p_item, coalesce(p_quantity, 0), v_outcome, v_order_id,
            case when v_outcome = 'REJECTED' then null else v_stock end, v_error,
            case when v_order_id is not null then 'created' end, case when v_order_id is not null then 0 end)
    on conflict (idempotency_key) do nothing
    returning pd.* into d;

    if d.idempotency_key is null then
        select * into d from purchase_decisions where idempotency_key = p_key;
        return query select * from replay_decision(d, p_user, p_item, p_quantity);
        return;
    end if;

    if v_outcome = 'ORDER_CREATED' then
        perform change_stock(p_item, -p_quantity, 'sale', v_order_id, null, null, null);
    end if;

    return query select d.outcome, d.order_id, d.stock, d.error_code, d.decided_at;
end;
$$;

-- place_orders as in V4, except that the decision is the order, and that the decisions are written
-- with a plain insert (see step 4).
create or replace function place_orders(p_keys text[], p_users uuid[], p_items uuid[], p_quantities integer[])
    returns table (ordinal integer, outcome text, order_id uuid, stock integer, error_code text,
                   decided_at timestamptz)
    language plpgsql as $$
declare
    n         integer := cardinality(p_keys);
    item_ids  uuid[];
    stocks    integer[];
    sold      boolean[];
    item_of   integer[];             -- per request: its item's index in item_ids, null if unknown
    first_of  integer[];             -- per request: the first request of the batch with its key
    known     purchase_decisions[];  -- per request: the decision stored for its key, if any
    a_outcome text[];                -- per request: the answer
    a_order   uuid[];
    a_stock   integer[];
    a_error   text[];
    a_at      timestamptz[];
    is_new    boolean[];             -- per request: it made a new decision, to be written
    d         purchase_decisions;
    f         integer;
    i         integer;
    q         integer;
begin
    if n is distinct from cardinality(p_users) or n is distinct from cardinality(p_items)
       or n is distinct from cardinality(p_quantities) then
        raise exception 'place_orders: arrays must have the same length'
            using errcode = 'invalid_parameter_value';
    end if;
    if n is null or n = 0 then
        return;
    end if;
    if array_position(p_keys, null) is not null or array_position(p_users, null) is not null
       or array_position(p_items, null) is not null then
        raise exception 'place_orders: idempotency key, user and item are required'
            using errcode = 'null_value_not_allowed';
    end if;

    -- 1. Nobody else can change these items until this transaction ends. Locking in id order means
    --    two batches sharing items queue instead of deadlocking.
    select coalesce(array_agg(l.id order by l.id), '{}'), coalesce(array_agg(l.stock order by l.id), '{}')
    into item_ids, stocks
    from (select it.id, it.stock from items it where it.id = any (p_items) order by it.id for update) l;
    sold := array_fill(false, array[cardinality(item_ids)]);

    -- 2. After the locks, so a decision committed by a transaction we waited for is seen here.
    select array_agg(x.idx order by x.k), array_agg(x.first_k order by x.k), array_agg(x.pd order by x.k)
    into item_of, first_of, known
    from (select b.k, it.idx, min(b.k) over (partition by b.key) as first_k, pd
          from unnest(p_keys, p_items) with ordinality as b(key, item, k)
          left join unnest(item_ids) with ordinality as it(id, idx) on it.id = b.item
          left join lateral (select * from purchase_decisions s where s.idempotency_key = b.key limit 1) pd on true) x;

    a_outcome := array_fill(null::text, array[n]);
    a_order := array_fill(null::uuid, array[n]);
    a_stock := array_fill(null::integer, array[n]);
    a_error := array_fill(null::text, array[n]);
    a_at := array_fill(now(), array[n]);
    is_new := array_fill(false, array[n]);

    -- 3.
    for k in 1 .. n loop
        d := known[k];
        f := first_of[k];
        if d.idempotency_key is not null then
            -- Decided before: the first decision unchanged, or the key was reused for another request.
            if d.user_id = p_users[k] and d.item_id = p_items[k] and d.quantity is not distinct from p_quantities[k] then
                a_outcome[k] := d.outcome;
                a_order[k] := d.order_id;
                a_stock[k] := d.stock;
                a_error[k] := d.error_code;
                a_at[k] := d.decided_at;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
        elsif f < k then
            -- Decided earlier in this batch: the same comparison against that request.
            if p_users[f] = p_users[k] and p_items[f] = p_items[k]
               and coalesce(p_quantities[f], 0) is not distinct from p_quantities[k] then
                a_outcome[k] := a_outcome[f];
                a_order[k] := a_order[f];
                a_stock[k] := a_stock[f];
                a_error[k] := a_error[f];
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
        else
            is_new[k] := true;
            q := p_quantities[k];
            i := item_of[k];
            if q is null or q < 1 or q > max_purchase_quantity() then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'invalid_quantity';
            elsif i is null then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'item_not_found';
            elsif stocks[i] >= q then
                stocks[i] := stocks[i] - q;
                sold[i] := true;
                a_outcome[k] := 'ORDER_CREATED';
                a_order[k] := new_order_id();
                a_stock[k] := stocks[i];
            else
                a_outcome[k] := 'OUT_OF_STOCK';
                a_stock[k] := stocks[i];
            end if;
        end if;
    end loop;

    -- 4. A plain insert: step 2 found no decision for these keys after the item locks, so a conflict
    --    here is a concurrent transaction deciding the same key for another item (see V3).
    begin
        insert into purchase_decisions (idempotency_key, user_id, item_id, quantity, outcome, order_id, stock,
                                        error_code, decided_at, status, refunded_quantity)
        select x.key, x.usr, x.item, coalesce(x.qty, 0), x.outcome, x.order_id, x.stock, x.error, x.at,
               case when x.order_id is not null then 'created' end, case when x.order_id is not null then 0 end
        from unnest(p_keys, p_users, p_items, p_quantities, a_outcome, a_order, a_stock, a_error, a_at, is_new)
             as x(key, usr, item, qty, outcome, order_id, stock, error, at, is_new)
        where x.is_new;
    exception when unique_violation then
        raise exception 'place_orders: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end;

    -- One ledger row per item for all of its sales in this batch, naming their orders in the order
    -- they were decided, then one update per item whose delta it is; the update is marked as already
    -- ledgered for the stock trigger.
    insert into stock_ledger (item_id, delta, reason, order_ids)
    select x.item, -sum(x.qty), 'sales', array_agg(x.order_id order by x.k)
    from unnest(p_items, p_quantities, a_order, is_new) with ordinality as x(item, qty, order_id, is_new, k)
    where x.is_new and x.order_id is not null
    group by x.item;

    perform set_config('checkout.stock_change', 'ledgered:', true);
    update items it set stock = s.stock
    from unnest(item_ids, stocks, sold) as s(id, stock, sold)
    where it.id = s.id and s.sold;
    perform set_config('checkout.stock_change', '', true);

    return query
        select x.k::integer, x.outcome, x.order_id, x.stock, x.error, x.at
        from unnest(a_outcome, a_order, a_stock, a_error, a_at) with ordinality as x(outcome, order_id, stock, error, at, k)
        order by x.k;
end;
$$;

-- audit_violations as in V4, without the checks that orders and decisions agree: they are one row.
-- Every invariant of the service that the data can show, as (check_name, detail) rows: no row means
-- the database is sound. One statement, so one snapshot: it can run while the service works.
--   stock_never_negative     no item has negative stock, nor had at any point of its ledger
--   stock_equals_ledger      each item's stock is the sum of its ledger rows
--   refunds_within_order     an order's refunded quantity never exceeds its quantity, equals the sum
--                            of its ORDER_REFUNDED decisions, and its status follows from it
--   one_decision_per_request every sale and every refund in the ledger traces to exactly one
--                            decision, every decision that moved stock has exactly one ledger entry,
--                            and a row's delta is what its orders or refund took or gave back
create or replace function audit_violations()
    returns table (check_name text, detail text)
    language sql stable as $$
    -- Every sale the ledger records: a 'sale' row sells one order, a 'sales' row each of its orders.
    with sale_entries as (
        select l.id, l.item_id, l.delta, l.order_id from stock_ledger l where l.reason = 'sale'
        union all
        select l.id, l.item_id, l.delta, s.order_id
        from stock_ledger l cross join unnest(l.order_ids) as s(order_id)
        where l.reason = 'sales')
    select 'stock_never_negative', format('item %s has stock %s', i.id, i.stock)
    from items i where i.stock < 0
    union all
    select 'stock_never_negative', format('item %s went down to %s with ledger row %s', h.item_id, h.running, h.id)
    from (select l.id, l.item_id, sum(l.delta) over (partition by l.item_id order by l.id) as running
          from stock_ledger l) h
    where h.running < 0
    union all
    select 'stock_equals_ledger', format('item %s has stock %s but its ledger adds up to %s',
                                         i.id, i.stock, coalesce(l.total, 0))
    from items i
    left join (select item_id, sum(delta) as total from stock_ledger group by item_id) l on l.item_id = i.id
    where i.stock <> coalesce(l.total, 0)
    union all
    select 'refunds_within_order', format('order %s of %s has %s refunded', o.id, o.quantity, o.refunded_quantity)
    from orders o where o.refunded_quantity > o.quantity or o.refunded_quantity < 0
    union all
    select 'refunds_within_order', format('order %s has %s refunded but its refund decisions add up to %s',
                                          o.id, o.refunded_quantity, coalesce(r.total, 0))
    from orders o
    left join (select order_id, sum(quantity) as total from refund_decisions
               where outcome = 'ORDER_REFUNDED' group by order_id) r on r.order_id = o.id
    where o.refunded_quantity <> coalesce(r.total, 0)
    union all
    select 'refunds_within_order', format('refund decisions of order %s add up to %s of %s ordered',
                                          r.order_id, r.total, coalesce(o.quantity, 0))
    from (select order_id, sum(quantity) as total from refund_decisions
          where outcome = 'ORDER_REFUNDED' group by order_id) r
    left join orders o on o.id = r.order_id
    where o.id is null or r.total > o.quantity
    union all
    select 'refunds_within_order', format('order %s is %s with %s of %s refunded',
                                          o.id, o.status, o.refunded_quantity, o.quantity)
    from orders o
    where o.status <> case when o.refunded_quantity = 0 then 'created'
                           when o.refunded_quantity = o.quantity then 'refunded'
                           else 'partially_refunded' end
    union all
    select 'one_decision_per_request', format('order %s has %s sale rows in the ledger, not one', o.id, coalesce(s.n, 0))
    from orders o
    left join (select order_id, count(*) as n from sale_entries group by order_id) s on s.order_id = o.id
    where s.n is distinct from 1
    union all
    select 'one_decision_per_request', format('ledger row %s is a sale of order %s, which does not exist', e.id, e.order_id)
    from sale_entries e
    where not exists (select 1 from orders o where o.id = e.order_id and o.item_id = e.item_id)
    union all
    select 'one_decision_per_request', format('ledger row %s takes %s from stock for orders of %s', e.id, -e.delta, e.total)
    from (select e.id, e.delta, sum(o.quantity) as total
          from sale_entries e join orders o on o.id = e.order_id and o.item_id = e.item_id
          group by e.id, e.delta) e
    where e.delta <> -e.total
    union all
    select 'one_decision_per_request', format('refund %s of order %s has %s ledger rows adding up to %s, not one of %s',
                                              d.idempotency_key, d.order_id, coalesce(l.n, 0), coalesce(l.total, 0), d.quantity)
    from refund_decisions d
    left join (select refund_key, count(*) as n, sum(delta) as total from stock_ledger
               where reason = 'refund' group by refund_key) l on l.refund_key = d.idempotency_key
    where d.outcome = 'ORDER_REFUNDED' and (l.n is distinct from 1 or l.total <> d.quantity)
    union all
    select 'one_decision_per_request', format('ledger row %s refunds order %s under key %s, which decided no such refund',
                                              l.id, l.order_id, l.refund_key)
    from stock_ledger l
    where l.reason = 'refund'
      and not exists (select 1 from refund_decisions d
                      where d.idempotency_key = l.refund_key and d.outcome = 'ORDER_REFUNDED'
                        and d.order_id = l.order_id and d.item_id = l.item_id)
    order by 1, 2
$$;
