-- place_orders, rewritten for hot items: every table is read and written once per batch, not once
-- per request. Updating one row again and again inside a transaction leaves a new row version each
-- time, and every later lock or update of that row walks all of them: a batch of n requests for one
-- item cost O(n^2) in the first version. This one
--   1. locks the batch's items in id order and reads their stock once,
--   2. in one query, finds for every request its item, its stored decision and the first request of
--      the batch with the same key,
--   3. decides each request in array order, against the stock it keeps in local arrays (the loop
--      runs no query: per request it only reads and writes array elements),
--   4. writes the new decisions, the sales to the stock ledger, the orders and each changed item
--      once, and returns all the answers at once.
-- Each decision is the one place_order would make for that request, called in array order: the same
-- checks in the same order, the same replay of stored decisions, a key repeated in the batch replays
-- its first decision.
--
-- The key is claimed when the decisions are written (step 4), not before deciding. A key that a
-- concurrent transaction decided between steps 2 and 4 (only possible for one key used for two items at
-- once) fails the insert's conflict check; the whole batch then rolls back with serialization_failure
-- (SQLSTATE 40001) and the caller retries it, when step 2 finds that decision and replays it.
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
    written   integer;
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
          left join purchase_decisions pd on pd.idempotency_key = b.key) x;

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
                a_order[k] := gen_random_uuid();
                a_stock[k] := stocks[i];
            else
                a_outcome[k] := 'OUT_OF_STOCK';
                a_stock[k] := stocks[i];
            end if;
        end if;
    end loop;

    -- 4.
    insert into purchase_decisions (idempotency_key, user_id, item_id, quantity, outcome, order_id, stock,
                                    error_code, decided_at)
    select x.key, x.usr, x.item, coalesce(x.qty, 0), x.outcome, x.order_id, x.stock, x.error, x.at
    from unnest(p_keys, p_users, p_items, p_quantities, a_outcome, a_order, a_stock, a_error, a_at, is_new)
         as x(key, usr, item, qty, outcome, order_id, stock, error, at, is_new)
    where x.is_new
    on conflict (idempotency_key) do nothing;
    get diagnostics written = row_count;
    if written < (select count(*) from unnest(is_new) x where x) then
        raise exception 'place_orders: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end if;

    -- One ledger row per sale, in the order the sales were decided, then one update per item whose
    -- delta they add up to; the update is marked as already ledgered for the stock trigger.
    insert into stock_ledger (item_id, delta, reason, order_id)
    select x.item, -x.qty, 'sale', x.order_id
    from unnest(p_items, p_quantities, a_order, is_new) with ordinality as x(item, qty, order_id, is_new, k)
    where x.is_new and x.order_id is not null
    order by x.k;

    perform set_config('checkout.stock_change', 'ledgered:', true);
    update items it set stock = s.stock
    from unnest(item_ids, stocks, sold) as s(id, stock, sold)
    where it.id = s.id and s.sold;
    perform set_config('checkout.stock_change', '', true);

    insert into orders (id, idempotency_key, user_id, item_id, quantity)
    select x.order_id, x.key, x.usr, x.item, x.qty
    from unnest(p_keys, p_users, p_items, p_quantities, a_order, is_new) as x(key, usr, item, qty, order_id, is_new)
    where x.is_new and x.order_id is not null;

    return query
        select x.k::integer, x.outcome, x.order_id, x.stock, x.error, x.at
        from unnest(a_outcome, a_order, a_stock, a_error, a_at) with ordinality as x(outcome, order_id, stock, error, at, k)
        order by x.k;
end;
$$;
