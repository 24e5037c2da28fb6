-- place_orders, rewritten for hot items: every table is read and written once per batch, not once
-- per request. Updating one row again and again inside a transaction leaves a new row version each
-- time, and every later lock or update of that row walks all of them: a batch of n requests for one
-- item cost O(n^2) in the first version. This one
--   1. locks the batch's items in id order and reads their stock once,
--   2. reads every stored decision for the batch's keys once,
--   3. decides each request in array order, against the stock it keeps in local arrays,
--   4. writes the new decisions, the sales to the stock ledger, the orders and each changed item once.
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
    n          integer := cardinality(p_keys);
    item_ids   uuid[];
    stocks     integer[];
    sold       boolean[];
    known_keys text[];
    known      purchase_decisions[];
    new_keys   text[] := '{}';
    decided    purchase_decisions[] := '{}';
    d          purchase_decisions;
    i          integer;
    j          integer;
    written    integer;
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
    select coalesce(array_agg(pd.idempotency_key), '{}'), coalesce(array_agg(pd), '{}')
    into known_keys, known
    from purchase_decisions pd where pd.idempotency_key = any (p_keys);

    -- 3.
    for k in 1 .. n loop
        j := array_position(known_keys, p_keys[k]);
        if j is not null then
            return query select k, r.* from replay_decision(known[j], p_users[k], p_items[k], p_quantities[k]) r;
            continue;
        end if;
        j := array_position(new_keys, p_keys[k]);
        if j is not null then
            return query select k, r.* from replay_decision(decided[j], p_users[k], p_items[k], p_quantities[k]) r;
            continue;
        end if;

        d := row(p_keys[k], p_users[k], p_items[k], coalesce(p_quantities[k], 0), null, null, null, null, now());
        i := array_position(item_ids, p_items[k]);
        if p_quantities[k] is null or p_quantities[k] < 1 or p_quantities[k] > max_purchase_quantity() then
            d.outcome := 'REJECTED';
            d.error_code := 'invalid_quantity';
        elsif i is null then
            d.outcome := 'REJECTED';
            d.error_code := 'item_not_found';
        elsif stocks[i] >= p_quantities[k] then
            stocks[i] := stocks[i] - p_quantities[k];
            sold[i] := true;
            d.outcome := 'ORDER_CREATED';
            d.order_id := gen_random_uuid();
            d.stock := stocks[i];
        else
            d.outcome := 'OUT_OF_STOCK';
            d.stock := stocks[i];
        end if;
        new_keys := new_keys || p_keys[k];
        decided := decided || d;
        return query select k, d.outcome, d.order_id, d.stock, d.error_code, d.decided_at;
    end loop;

    -- 4.
    insert into purchase_decisions
    select (x).* from unnest(decided) x
    on conflict (idempotency_key) do nothing;
    get diagnostics written = row_count;
    if written < cardinality(decided) then
        raise exception 'place_orders: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end if;

    -- One ledger row per sale, in the order the sales were decided, then one update per item whose
    -- delta they add up to; the update is marked as already ledgered for the stock trigger.
    insert into stock_ledger (item_id, delta, reason, order_id)
    select (x).item_id, -(x).quantity, 'sale', (x).order_id
    from unnest(decided) with ordinality as x
    where (x).outcome = 'ORDER_CREATED'
    order by ordinality;

    perform set_config('checkout.stock_change', 'ledgered:', true);
    update items it set stock = s.stock
    from unnest(item_ids, stocks, sold) as s(id, stock, sold)
    where it.id = s.id and s.sold;
    perform set_config('checkout.stock_change', '', true);

    insert into orders (id, idempotency_key, user_id, item_id, quantity)
    select (x).order_id, (x).idempotency_key, (x).user_id, (x).item_id, (x).quantity
    from unnest(decided) x where (x).outcome = 'ORDER_CREATED';
end;
$$;
