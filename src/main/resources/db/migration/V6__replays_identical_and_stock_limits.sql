-- Replays identical in every field, and stock that cannot overflow.
--
-- - A request rejected as idempotency_key_reused is answered from the decision it conflicts with, and
--   is still recorded nowhere; its decided_at is now that decision's, not now(), so a redelivery of
--   the conflicting request is answered identically, occurredAt included.
-- - A request with a null quantity, stored with quantity 0 as invalid_quantity, replays as that same
--   decision instead of being taken for a different request (0 is not null).
-- - A refund that would take an item's stock past the integer maximum is rejected with
--   stock_limit_exceeded instead of failing with "integer out of range" on every try, and a restock
--   that would is refused with a message that says so.

create or replace function replay_decision(d purchase_decisions, p_user uuid, p_item uuid, p_quantity integer)
    returns table (outcome text, order_id uuid, stock integer, error_code text, decided_at timestamptz)
    language plpgsql stable as $$
begin
    if d.user_id = p_user and d.item_id = p_item and d.quantity = coalesce(p_quantity, 0) then
        return query select d.outcome, d.order_id, d.stock, d.error_code, d.decided_at;
    else
        return query select 'REJECTED'::text, null::uuid, null::integer, 'idempotency_key_reused'::text, d.decided_at;
    end if;
end;
$$;

-- place_orders as in V5, except for the replay rules above.
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
            if d.user_id = p_users[k] and d.item_id = p_items[k] and d.quantity = coalesce(p_quantities[k], 0) then
                a_outcome[k] := d.outcome;
                a_order[k] := d.order_id;
                a_stock[k] := d.stock;
                a_error[k] := d.error_code;
                a_at[k] := d.decided_at;
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

create or replace function replay_refund(d refund_decisions, p_order uuid, p_quantity integer, p_reason text)
    returns table (outcome text, item_id uuid, quantity integer, stock integer, error_code text,
                   decided_at timestamptz)
    language plpgsql stable as $$
begin
    if d.order_id = p_order and d.requested_quantity is not distinct from p_quantity and d.reason = p_reason then
        return query select d.outcome, d.item_id, d.quantity, d.stock, d.error_code, d.decided_at;
    else
        return query select 'REJECTED'::text, (select o.item_id from orders o where o.id = p_order),
                            null::integer, null::integer, 'idempotency_key_reused'::text, d.decided_at;
    end if;
end;
$$;

-- refund_order as in V2, except that a refund never takes stock past the integer maximum:
--   stock_limit_exceeded    putting the quantity back would take the item's stock past 2147483647.
create or replace function refund_order(p_key text, p_order uuid, p_quantity integer, p_reason text)
    returns table (outcome text, item_id uuid, quantity integer, stock integer, error_code text,
                   decided_at timestamptz)
    language plpgsql as $$
declare
    d          refund_decisions;
    v_item     uuid;
    v_stock    integer;
    v_ordered  integer;
    v_left     integer;
    v_quantity integer;
    v_outcome  text;
    v_error    text;
begin
    if p_key is null or p_order is null or p_reason is null then
        raise exception 'refund_order: idempotency key, order and reason are required'
            using errcode = 'null_value_not_allowed';
    end if;

    select * into d from refund_decisions r where r.idempotency_key = p_key;
    if found then
        return query select * from replay_refund(d, p_order, p_quantity, p_reason);
        return;
    end if;

    select o.item_id into v_item from orders o where o.id = p_order;
    if not found then
        v_outcome := 'REJECTED';
        v_error := 'order_not_found';
    elsif p_quantity is not null and (p_quantity < 1 or p_quantity > max_purchase_quantity()) then
        v_outcome := 'REJECTED';
        v_error := 'invalid_quantity';
    else
        -- The item lock serialises this refund with every buyer and every other refund of the item;
        -- the order lock with anything else that would touch the order.
        select i.stock into v_stock from items i where i.id = v_item for update;
        select o.quantity, o.quantity - o.refunded_quantity into v_ordered, v_left
        from orders o where o.id = p_order for no key update;
        v_quantity := coalesce(p_quantity, v_left);
        if p_quantity > v_ordered then
            v_outcome := 'REJECTED';
            v_error := 'invalid_quantity';
        elsif v_left = 0 or v_quantity > v_left then
            v_outcome := 'REJECTED';
            v_error := 'already_refunded';
        elsif v_stock::bigint + v_quantity > 2147483647 then
            v_outcome := 'REJECTED';
            v_error := 'stock_limit_exceeded';
        else
            v_outcome := 'ORDER_REFUNDED';
            v_stock := v_stock + v_quantity;
        end if;
    end if;

    -- Claim the key before changing anything, exactly as place_order does.
    insert into refund_decisions as rd
           (idempotency_key, order_id, requested_quantity, reason, outcome, item_id, quantity, stock, error_code)
    values (p_key, p_order, p_quantity, p_reason, v_outcome, v_item,
            case when v_outcome = 'ORDER_REFUNDED' then v_quantity end,
            case when v_outcome = 'ORDER_REFUNDED' then v_stock end, v_error)
    on conflict (idempotency_key) do nothing
    returning rd.* into d;

    if d.idempotency_key is null then
        select * into d from refund_decisions r where r.idempotency_key = p_key;
        return query select * from replay_refund(d, p_order, p_quantity, p_reason);
        return;
    end if;

    if v_outcome = 'ORDER_REFUNDED' then
        update orders o
        set refunded_quantity = o.refunded_quantity + v_quantity,
            status = case when o.refunded_quantity + v_quantity = o.quantity then 'refunded'
                          else 'partially_refunded' end
        where o.id = p_order;
        perform change_stock(v_item, v_quantity, 'refund', p_order, p_key, null, p_reason);
    end if;

    return query select d.outcome, d.item_id, d.quantity, d.stock, d.error_code, d.decided_at;
end;
$$;

-- restock_item as in V2, except that a restock past the integer maximum is refused with its own message.
create or replace function restock_item(p_item uuid, p_delta integer, p_operator text, p_note text default null)
    returns integer
    language plpgsql as $$
declare
    v_stock integer;
begin
    if p_item is null or p_delta is null or nullif(btrim(p_operator), '') is null then
        raise exception 'restock_item: item, delta and operator are required'
            using errcode = 'null_value_not_allowed';
    end if;
    if p_delta = 0 then
        raise exception 'restock_item: delta must not be 0' using errcode = 'invalid_parameter_value';
    end if;
    select i.stock into v_stock from items i where i.id = p_item for update;
    if not found then
        raise exception 'restock_item: no item %', p_item using errcode = 'no_data_found';
    end if;
    if v_stock::bigint + p_delta < 0 then
        raise exception 'restock_item: item % has stock %, a correction of % would take it below zero',
            p_item, v_stock, p_delta using errcode = 'check_violation';
    end if;
    if v_stock::bigint + p_delta > 2147483647 then
        raise exception 'restock_item: item % has stock %, a restock of % would take it past 2147483647, the most it can hold',
            p_item, v_stock, p_delta using errcode = 'numeric_value_out_of_range';
    end if;
    return change_stock(p_item, p_delta, case when p_delta > 0 then 'restock' else 'correction' end,
                        null, null, btrim(p_operator), p_note);
end;
$$;
