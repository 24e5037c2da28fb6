-- Purchases, as they stand now (the tables: V1, V5 and V7).
--
-- place_orders decides a batch of purchase requests in one transaction, with every table read and
-- written once per batch, not once per request: updating one row again and again inside a transaction
-- leaves a row version each time, and every later lock or update of that row walks all of them. It
--   1. locks the batch's items in id order and reads their stock once,
--   2. in one query, finds for every request its item, its stored decision and the first request of
--      the batch with the same key,
--   3. decides each request in array order, against the stock it keeps in local arrays (the loop runs
--      no query),
--   4. writes the new decisions (an order is the decision that created it), one ledger row per item
--      and each changed item once, and returns all the answers at once.
-- Business outcomes are returned as rows, never raised: ORDER_CREATED (order_id, stock = remaining),
-- OUT_OF_STOCK (stock = available), REJECTED (error_code item_not_found | invalid_quantity |
-- idempotency_key_reused). A key decided before, in an earlier batch or earlier in this one, is
-- answered with that decision unchanged, decided_at included; arriving with another user, item or
-- quantity, it is rejected as idempotency_key_reused, recorded nowhere and changing nothing, with the
-- decided_at of the decision it conflicts with, so that its redelivery is answered identically too.
-- replayed says that a request was answered with a decision made before, not decided now.

-- The largest quantity one request may buy; the request schema says the same.
create or replace function max_purchase_quantity() returns integer
    language sql immutable parallel safe as 'select 1000';

-- A new order id: the UUID version 7 layout (milliseconds since 1970, then 74 random bits), with the
-- transaction's time, the order's created_at. Time-ordered ids keep the index that finds an order by
-- id growing at its right edge.
create or replace function new_order_id() returns uuid
    language sql volatile as $$
    select (lpad(to_hex(floor(extract(epoch from now()) * 1000)::bigint), 12, '0') || '7'
            || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid
$$;

-- A function's result columns change only by dropping it first: done once, where an earlier release left
-- place_orders without replayed, so that the create or replace below keeps its grants every other time.
do $$
declare
    f regprocedure := to_regprocedure('place_orders(text[], uuid[], uuid[], integer[])');
begin
    if f is not null and pg_get_function_result(f) not like '%replayed boolean%' then
        drop function place_orders(text[], uuid[], uuid[], integer[]);
    end if;
end
$$;

create or replace function place_orders(p_keys text[], p_users uuid[], p_items uuid[], p_quantities integer[])
    returns table (ordinal integer, outcome text, order_id uuid, stock integer, error_code text,
                   decided_at timestamptz, replayed boolean)
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
    replay    boolean[];             -- per request: answered with a decision made before
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
    replay := array_fill(false, array[n]);

    -- 3.
    for k in 1 .. n loop
        d := known[k];
        f := first_of[k];
        if d.idempotency_key is not null then
            -- Decided before: the first decision unchanged, or the key was reused for another request.
            if d.user_id = p_users[k] and d.item_id = p_items[k] and d.quantity = coalesce(p_quantities[k], 0) then
                a_outcome[k] := d.outcome;
                a_order[k] := d.order_id;
                a_stock[k] := d.stock;
                a_error[k] := d.error_code;
                a_at[k] := d.decided_at;
                replay[k] := true;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
                a_at[k] := d.decided_at;
            end if;
        elsif f < k then
            -- Decided earlier in this batch: the same comparison against that request.
            if p_users[f] = p_users[k] and p_items[f] = p_items[k]
               and coalesce(p_quantities[f], 0) = coalesce(p_quantities[k], 0) then
                a_outcome[k] := a_outcome[f];
                a_order[k] := a_order[f];
                a_stock[k] := a_stock[f];
                a_error[k] := a_error[f];
                replay[k] := true;
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
    --    here is a concurrent transaction deciding the same key for another item: the batch rolls back
    --    with serialization_failure, and its retry finds that decision in step 2 and replays it.
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
    -- they were decided, with the item's stock after them; then one update per item.
    insert into stock_ledger (item_id, delta, reason, order_ids, balance)
    select x.item, -x.qty, 'sales', x.order_ids, s.stock
    from (select x.item, sum(x.qty)::integer as qty, array_agg(x.order_id order by x.k) as order_ids
          from unnest(p_items, p_quantities, a_order, is_new) with ordinality as x(item, qty, order_id, is_new, k)
          where x.is_new and x.order_id is not null
          group by x.item) x
    join unnest(item_ids, stocks) as s(id, stock) on s.id = x.item;

    update items it set stock = s.stock
    from unnest(item_ids, stocks, sold) as s(id, stock, sold)
    where it.id = s.id and s.sold;

    return query
        select x.k::integer, x.outcome, x.order_id, x.stock, x.error, x.at, x.replay
        from unnest(a_outcome, a_order, a_stock, a_error, a_at, replay)
             with ordinality as x(outcome, order_id, stock, error, at, replay, k)
        order by x.k;
end;
$$;

-- One request: place_orders with a batch of one. When a concurrent transaction decided the same key for
-- another item, place_orders fails with serialization_failure once that transaction has committed; a
-- second call then finds its decision and answers with it, as a redelivery would be answered.
create or replace function place_order(p_key text, p_user uuid, p_item uuid, p_quantity integer)
    returns table (outcome text, order_id uuid, stock integer, error_code text, decided_at timestamptz)
    language plpgsql as $$
begin
    begin
        return query select p.outcome, p.order_id, p.stock, p.error_code, p.decided_at
                     from place_orders(array[p_key], array[p_user], array[p_item], array[p_quantity]) p;
    exception when serialization_failure then
        return query select p.outcome, p.order_id, p.stock, p.error_code, p.decided_at
                     from place_orders(array[p_key], array[p_user], array[p_item], array[p_quantity]) p;
    end;
end;
$$;

-- Every order: the decisions that created one. Refunds update status and refunded_quantity.
create or replace view orders as
select d.order_id as id, d.idempotency_key, d.user_id, d.item_id, d.quantity, d.status, d.refunded_quantity,
       d.decided_at as created_at
from purchase_decisions d
where d.order_id is not null;

-- The service may run as a role that can write no table (db/roles.sql): place_orders runs with its owner's
-- rights, on this schema alone (pg_temp last, so that no temporary table of the caller's stands in for one
-- of these), and only the roles afterMigrate.sql names may call it.
alter function place_orders security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function place_orders from public;
