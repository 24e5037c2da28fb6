-- Refunds, as they stand now (the tables: V2 and V5).
--
-- refund_orders decides a batch of refund requests in one transaction, the way place_orders decides
-- purchases: every item and every order is read once and written once per batch. A refund puts back
-- p_quantity units of an order (null: everything not yet refunded), at most once per idempotency key
-- and never more than the order holds. Business outcomes are returned as rows, never raised:
-- ORDER_REFUNDED (the quantity put back, the item's stock after it) or REJECTED with error_code
--   order_not_found         no such order;
--   invalid_quantity        quantity below 1, above max_purchase_quantity() or above what was ordered;
--   already_refunded        nothing is left to refund, or less is left than asked: the request is
--                           refused whole, never cut to the remainder (ask without a quantity for that);
--   stock_limit_exceeded    putting the quantity back would take the item's stock past 2147483647;
--   idempotency_key_reused  the key was decided for another order, quantity or reason.
-- A key decided before, in an earlier batch or earlier in this one, is answered with that decision
-- unchanged; arriving with another order, quantity or reason it is rejected as idempotency_key_reused,
-- recorded nowhere and changing nothing, with the decided_at of the decision it conflicts with.
-- replayed says that a request was answered with a decision made before, not decided now.
--
-- Locks: the items of the batch's orders, in id order, as place_orders locks its items, so batches of
-- refunds and of purchases sharing items queue instead of deadlocking. An order's refunded quantity
-- changes only here, under its item's lock, so the orders themselves need no lock of their own.
-- Dropped once, where an earlier release left refund_orders without replayed (see place_orders).
do $$
declare
    f regprocedure := to_regprocedure('refund_orders(text[], uuid[], integer[], text[])');
begin
    if f is not null and pg_get_function_result(f) not like '%replayed boolean%' then
        drop function refund_orders(text[], uuid[], integer[], text[]);
    end if;
end
$$;

create or replace function refund_orders(p_keys text[], p_orders uuid[], p_quantities integer[], p_reasons text[])
    returns table (ordinal integer, outcome text, item_id uuid, quantity integer, stock integer,
                   error_code text, decided_at timestamptz, replayed boolean)
    language plpgsql as $$
declare
    n          integer := cardinality(p_keys);
    item_ids   uuid[];              -- the batch's items, in id order
    stocks     integer[];           -- per item: its stock, kept current as refunds are decided
    changed    boolean[];           -- per item: a refund put stock back
    order_ids  uuid[];              -- the batch's orders that exist
    order_item integer[];           -- per order: its item's index in item_ids
    ordered    integer[];           -- per order: its quantity
    refunded   integer[];           -- per order: how much of it is refunded, kept current
    order_of   integer[];           -- per request: its order's index in order_ids, null if none
    first_of   integer[];           -- per request: the first request of the batch with its key
    known      refund_decisions[];  -- per request: the decision stored for its key, if any
    a_outcome  text[];              -- per request: the answer
    a_item     uuid[];
    a_quantity integer[];
    a_stock    integer[];
    a_error    text[];
    a_at       timestamptz[];
    is_new     boolean[];           -- per request: it made a new decision, to be written
    replay     boolean[];           -- per request: answered with a decision made before
    d          refund_decisions;
    f          integer;
    o          integer;
    i          integer;
    q          integer;
begin
    if n is distinct from cardinality(p_orders) or n is distinct from cardinality(p_quantities)
       or n is distinct from cardinality(p_reasons) then
        raise exception 'refund_orders: arrays must have the same length'
            using errcode = 'invalid_parameter_value';
    end if;
    if n is null or n = 0 then
        return;
    end if;
    if array_position(p_keys, null) is not null or array_position(p_orders, null) is not null
       or array_position(p_reasons, null) is not null then
        raise exception 'refund_orders: idempotency key, order and reason are required'
            using errcode = 'null_value_not_allowed';
    end if;

    -- 1. The items of the batch's orders: locked in id order, their stock read once. An order's item
    --    never changes, so finding the items before the locks is safe.
    select coalesce(array_agg(l.id order by l.id), '{}'), coalesce(array_agg(l.stock order by l.id), '{}')
    into item_ids, stocks
    from (select it.id, it.stock from items it
          where it.id = any (array(select o.item_id from orders o where o.id = any (p_orders)))
          order by it.id for update) l;
    changed := array_fill(false, array[cardinality(item_ids)]);

    -- 2. The orders, after the locks, so a refund committed by a transaction we waited for is counted.
    select coalesce(array_agg(o.id order by o.id), '{}'), coalesce(array_agg(it.idx order by o.id), '{}'),
           coalesce(array_agg(o.quantity order by o.id), '{}'), coalesce(array_agg(o.refunded_quantity order by o.id), '{}')
    into order_ids, order_item, ordered, refunded
    from orders o
    join unnest(item_ids) with ordinality as it(id, idx) on it.id = o.item_id
    where o.id = any (p_orders);

    -- 3. Per request: its order, its stored decision (one index probe per key, see place_orders) and
    --    the first request of the batch with its key.
    select array_agg(x.idx order by x.k), array_agg(x.first_k order by x.k), array_agg(x.rd order by x.k)
    into order_of, first_of, known
    from (select b.k, oi.idx, min(b.k) over (partition by b.key) as first_k, rd
          from unnest(p_keys, p_orders) with ordinality as b(key, ord, k)
          left join unnest(order_ids) with ordinality as oi(id, idx) on oi.id = b.ord
          left join lateral (select * from refund_decisions s where s.idempotency_key = b.key limit 1) rd on true) x;

    a_outcome := array_fill(null::text, array[n]);
    a_item := array_fill(null::uuid, array[n]);
    a_quantity := array_fill(null::integer, array[n]);
    a_stock := array_fill(null::integer, array[n]);
    a_error := array_fill(null::text, array[n]);
    a_at := array_fill(now(), array[n]);
    is_new := array_fill(false, array[n]);
    replay := array_fill(false, array[n]);

    -- 4. Decide each request in array order; no query runs in this loop.
    for k in 1 .. n loop
        d := known[k];
        f := first_of[k];
        o := order_of[k];
        if o is not null then
            a_item[k] := item_ids[order_item[o]];
        end if;
        if d.idempotency_key is not null then
            -- Decided before: the first decision unchanged, or the key was reused for another request.
            if d.order_id = p_orders[k] and d.requested_quantity is not distinct from p_quantities[k]
               and d.reason = p_reasons[k] then
                a_outcome[k] := d.outcome;
                a_item[k] := d.item_id;
                a_quantity[k] := d.quantity;
                a_stock[k] := d.stock;
                a_error[k] := d.error_code;
                replay[k] := true;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
            a_at[k] := d.decided_at;
        elsif f < k then
            -- Decided earlier in this batch: the same comparison against that request.
            if p_orders[f] = p_orders[k] and p_quantities[f] is not distinct from p_quantities[k]
               and p_reasons[f] = p_reasons[k] then
                a_outcome[k] := a_outcome[f];
                a_item[k] := a_item[f];
                a_quantity[k] := a_quantity[f];
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
            if o is null then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'order_not_found';
            elsif q is not null and (q < 1 or q > max_purchase_quantity() or q > ordered[o]) then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'invalid_quantity';
            else
                i := order_item[o];
                q := coalesce(q, ordered[o] - refunded[o]);
                if refunded[o] = ordered[o] or q > ordered[o] - refunded[o] then
                    a_outcome[k] := 'REJECTED';
                    a_error[k] := 'already_refunded';
                elsif stocks[i]::bigint + q > 2147483647 then
                    a_outcome[k] := 'REJECTED';
                    a_error[k] := 'stock_limit_exceeded';
                else
                    refunded[o] := refunded[o] + q;
                    stocks[i] := stocks[i] + q;
                    changed[i] := true;
                    a_outcome[k] := 'ORDER_REFUNDED';
                    a_quantity[k] := q;
                    a_stock[k] := stocks[i];
                end if;
            end if;
        end if;
    end loop;

    -- 5. The new decisions, with a plain insert for the reason place_orders gives.
    begin
        insert into refund_decisions (idempotency_key, order_id, requested_quantity, reason, outcome, item_id,
                                      quantity, stock, error_code, decided_at)
        select x.key, x.ord, x.requested, x.reason, x.outcome, x.item, x.quantity, x.stock, x.error, x.at
        from unnest(p_keys, p_orders, p_quantities, p_reasons, a_outcome, a_item, a_quantity, a_stock, a_error,
                    a_at, is_new)
             as x(key, ord, requested, reason, outcome, item, quantity, stock, error, at, is_new)
        where x.is_new;
    exception when unique_violation then
        raise exception 'refund_orders: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end;

    -- One ledger row per refund, in the order they were decided, with the item's stock after it; then
    -- each refunded order and each item once.
    insert into stock_ledger (item_id, delta, reason, order_id, refund_key, note, balance)
    select x.item, x.quantity, 'refund', x.ord, x.key, x.reason, x.stock
    from unnest(p_keys, p_orders, p_reasons, a_item, a_quantity, a_stock, a_outcome, is_new)
         with ordinality as x(key, ord, reason, item, quantity, stock, outcome, is_new, k)
    where x.is_new and x.outcome = 'ORDER_REFUNDED'
    order by x.k;

    update purchase_decisions pd
    set refunded_quantity = r.refunded,
        status = case when r.refunded = pd.quantity then 'refunded' else 'partially_refunded' end
    from unnest(order_ids, refunded) as r(id, refunded)
    where pd.order_id = r.id and pd.refunded_quantity <> r.refunded;

    update items it set stock = s.stock
    from unnest(item_ids, stocks, changed) as s(id, stock, changed)
    where it.id = s.id and s.changed;

    return query
        select x.k::integer, x.outcome, x.item, x.quantity, x.stock, x.error, x.at, x.replay
        from unnest(a_outcome, a_item, a_quantity, a_stock, a_error, a_at, replay)
             with ordinality as x(outcome, item, quantity, stock, error, at, replay, k)
        order by x.k;
end;
$$;

-- One request: refund_orders with a batch of one, answered from the decision of a concurrent
-- transaction that decided the same key first, as place_order is.
create or replace function refund_order(p_key text, p_order uuid, p_quantity integer, p_reason text)
    returns table (outcome text, item_id uuid, quantity integer, stock integer, error_code text,
                   decided_at timestamptz)
    language plpgsql as $$
begin
    begin
        return query select r.outcome, r.item_id, r.quantity, r.stock, r.error_code, r.decided_at
                     from refund_orders(array[p_key], array[p_order], array[p_quantity], array[p_reason]) r;
    exception when serialization_failure then
        return query select r.outcome, r.item_id, r.quantity, r.stock, r.error_code, r.decided_at
                     from refund_orders(array[p_key], array[p_order], array[p_quantity], array[p_reason]) r;
    end;
end;
$$;

-- Runs with its owner's rights on this schema alone, callable by the roles afterMigrate.sql names only, as
-- place_orders is (R__purchase.sql).
alter function refund_orders security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function refund_orders from public;
