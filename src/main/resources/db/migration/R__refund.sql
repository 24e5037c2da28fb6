-- Refunds, as they stand now (the tables: V2, V5 and V8).
--
-- decide_refunds decides a batch of refund requests in one transaction, the way decide_purchases decides
-- purchases: every item and every order is read once and written once per batch. A refund puts stock
-- back on the lines of one order: p_items names the line (the order's line for that item), or null for
-- the whole order; p_quantity is how many units (null: everything not yet refunded of those lines). A
-- quantity needs one line: a named one, or the only line of a single-item order. At most once per
-- idempotency key, and never more than a line holds. Business outcomes are returned as rows, never
-- raised: ORDER_REFUNDED (the quantity put back; for a single-item order the item's stock after it, for
-- a cart the lines put back, each with its item's stock after it) or REJECTED with error_code
--   order_not_found         no such order;
--   line_not_found          the order has no line for the named item;
--   item_required           a quantity for an order of several lines that names no line;
--   invalid_quantity        quantity below 1, above max_purchase_quantity() or above the line's quantity;
--   already_refunded        nothing is left to refund, or less is left than asked: the request is
--                           refused whole, never cut to the remainder (ask without a quantity for that);
--   stock_limit_exceeded    putting the quantity back would take an item's stock past 2147483647;
--   idempotency_key_reused  the key was decided for another order, line, quantity or reason.
-- A key decided before, in an earlier batch or earlier in this one, is answered with that decision
-- unchanged, lines included; arriving with another order, line, quantity or reason it is rejected as
-- idempotency_key_reused, recorded nowhere and changing nothing, with the decided_at of the decision it
-- conflicts with. replayed says that a request was answered with a decision made before, not decided now.
--
-- Locks: the items of the batch's orders, in id order, as decide_purchases locks its items (see "Why
-- nothing here can deadlock" in R__purchase.sql). An order's refunded quantities change only here, under
-- its items' locks, so the orders and their lines need no lock of their own.
create or replace function decide_refunds(p_keys text[], p_orders uuid[], p_items uuid[], p_quantities integer[],
                                          p_reasons text[])
    returns table (ordinal integer, outcome text, item_id uuid, quantity integer, stock integer, error_code text,
                   decided_at timestamptz, replayed boolean,
                   line_items uuid[], line_quantities integer[], line_stocks integer[])
    language plpgsql as $$
declare
    n          integer := cardinality(p_keys);
    item_ids   uuid[];              -- the batch's items, in id order
    stocks     integer[];           -- per item: its stock, kept current as refunds are decided
    changed    boolean[];           -- per item: a refund put stock back
    l_order    uuid[];              -- per line of the batch's orders, by order and line number: its order,
    l_item     uuid[];              -- its item,
    l_idx      integer[];           -- that item's index in item_ids,
    l_qty      integer[];           -- its quantity,
    l_ref      integer[];           -- and how much of it is refunded, kept current
    o_ids      uuid[];              -- per order of the batch that exists: its id,
    o_first    integer[];           -- its first line,
    o_count    integer[];           -- how many lines it has,
    o_cart     boolean[];           -- whether it is a cart's,
    o_ref      integer[];           -- and how much of it is refunded, kept current
    order_of   integer[];           -- per request: its order's index in o_ids, null if none
    first_of   integer[];           -- per request: the first request of the batch with its key
    known      refund_decisions[];  -- per request: the decision stored for its key, if any
    r_req      integer[] := '{}';   -- per line put back, in the order they were: its request,
    r_line     integer[] := '{}';   -- its line,
    r_qty      integer[] := '{}';   -- how much,
    r_stock    integer[] := '{}';   -- and its item's stock after it
    a_outcome  text[];              -- per request: the answer
    a_item     uuid[];
    a_quantity integer[];
    a_stock    integer[];
    a_error    text[];
    a_at       timestamptz[];
    lines_of   integer[];           -- per request: the request whose lines put back are its answer's lines
    is_new     boolean[];           -- per request: it made a new decision, to be written
    replay     boolean[];           -- per request: answered with a decision made before
    d          refund_decisions;
    f          integer;
    o          integer;
    line       integer;
    i          integer;
    q          integer;
    total      integer;
    too_much   boolean;
begin
    if n is distinct from cardinality(p_orders) or n is distinct from cardinality(p_items)
       or n is distinct from cardinality(p_quantities) or n is distinct from cardinality(p_reasons) then
        raise exception 'decide_refunds: arrays must have the same length'
            using errcode = 'invalid_parameter_value';
    end if;
    if n is null or n = 0 then
        return;
    end if;
    if array_position(p_keys, null) is not null or array_position(p_orders, null) is not null
       or array_position(p_reasons, null) is not null then
        raise exception 'decide_refunds: idempotency key, order and reason are required'
            using errcode = 'null_value_not_allowed';
    end if;

    -- 1. The items of the batch's orders: locked in id order, their stock read once. An order's lines
    --    never change, so finding the items before the locks is safe. The orders are those that exist
    --    now: one committed after this point has none of its items locked, and is not found.
    o_ids := array(select distinct ol.order_id from order_lines ol where ol.order_id = any (p_orders));
    select coalesce(array_agg(l.id order by l.id), '{}'), coalesce(array_agg(l.stock order by l.id), '{}')
    into item_ids, stocks
    from (select it.id, it.stock from items it
          where it.id = any (array(select ol.item_id from order_lines ol where ol.order_id = any (o_ids)))
          order by it.id for update) l;
    changed := array_fill(false, array[cardinality(item_ids)]);

    -- 2. The orders' lines, after the locks, so a refund committed by a transaction we waited for is
    --    counted; then the orders.
    select coalesce(array_agg(ol.order_id order by ol.order_id, ol.line_no), '{}'),
           coalesce(array_agg(ol.item_id order by ol.order_id, ol.line_no), '{}'),
           coalesce(array_agg(it.idx order by ol.order_id, ol.line_no), '{}'),
           coalesce(array_agg(ol.quantity order by ol.order_id, ol.line_no), '{}'),
           coalesce(array_agg(ol.refunded_quantity order by ol.order_id, ol.line_no), '{}')
    into l_order, l_item, l_idx, l_qty, l_ref
    from order_lines ol
    join unnest(item_ids) with ordinality as it(id, idx) on it.id = ol.item_id
    where ol.order_id = any (o_ids);

    select coalesce(array_agg(g.id order by g.id), '{}'), coalesce(array_agg(g.first_line order by g.id), '{}'),
           coalesce(array_agg(g.count order by g.id), '{}'), coalesce(array_agg(g.cart order by g.id), '{}'),
           coalesce(array_agg(g.refunded order by g.id), '{}')
    into o_ids, o_first, o_count, o_cart, o_ref
    from (select x.id, min(x.j)::integer as first_line, count(*)::integer as count,
                 bool_or(pd.item_id is null) as cart, min(pd.refunded_quantity) as refunded
          from unnest(l_order) with ordinality as x(id, j)
          join purchase_decisions pd on pd.order_id = x.id
          group by x.id) g;

    -- 3. Per request: its order, its stored decision (one index probe per key, see decide_purchases) and
    --    the first request of the batch with its key.
    select array_agg(x.idx order by x.k), array_agg(x.first_k order by x.k), array_agg(x.rd order by x.k)
    into order_of, first_of, known
    from (select b.k, oi.idx, min(b.k) over (partition by b.key) as first_k, rd
          from unnest(p_keys, p_orders) with ordinality as b(key, ord, k)
          left join unnest(o_ids) with ordinality as oi(id, idx) on oi.id = b.ord
          left join lateral (select * from refund_decisions s where s.idempotency_key = b.key limit 1) rd on true) x;

    a_outcome := array_fill(null::text, array[n]);
    a_item := array_fill(null::uuid, array[n]);
    a_quantity := array_fill(null::integer, array[n]);
    a_stock := array_fill(null::integer, array[n]);
    a_error := array_fill(null::text, array[n]);
    a_at := array_fill(now(), array[n]);
    lines_of := array_fill(null::integer, array[n]);
    is_new := array_fill(false, array[n]);
    replay := array_fill(false, array[n]);

    -- 4. Decide each request in array order; no query runs in this loop.
    for k in 1 .. n loop
        d := known[k];
        f := first_of[k];
        o := order_of[k];
        -- The item a rejection names: the line asked for, or a single-item order's one item.
        a_item[k] := p_items[k];
        if o is not null and not o_cart[o] then
            a_item[k] := l_item[o_first[o]];
        end if;
        if d.idempotency_key is not null then
            -- Decided before: the first decision unchanged, or the key was reused for another request.
            if d.order_id = p_orders[k] and d.requested_item is not distinct from p_items[k]
               and d.requested_quantity is not distinct from p_quantities[k] and d.reason = p_reasons[k] then
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
            if p_orders[f] = p_orders[k] and p_items[f] is not distinct from p_items[k]
               and p_quantities[f] is not distinct from p_quantities[k] and p_reasons[f] = p_reasons[k] then
                a_outcome[k] := a_outcome[f];
                a_item[k] := a_item[f];
                a_quantity[k] := a_quantity[f];
                a_stock[k] := a_stock[f];
                a_error[k] := a_error[f];
                lines_of[k] := lines_of[f];
                replay[k] := true;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
        else
            is_new[k] := true;
            q := p_quantities[k];
            line := null;
            if o is not null then
                if p_items[k] is not null then
                    line := array_position(l_item[o_first[o]:o_first[o] + o_count[o] - 1], p_items[k])
                            + o_first[o] - 1;
                elsif o_count[o] = 1 then
                    line := o_first[o];
                end if;
            end if;
            if o is null then
                a_error[k] := 'order_not_found';
            elsif p_items[k] is not null and line is null then
                a_error[k] := 'line_not_found';
                a_item[k] := p_items[k];
            elsif q is not null and line is null then
                a_error[k] := 'item_required';
            elsif q is not null and (q < 1 or q > max_purchase_quantity() or q > l_qty[line]) then
                a_error[k] := 'invalid_quantity';
            else
                -- The lines to put back (first .. last) and how much: the quantity asked on its one line,
                -- or what is left of each.
                total := 0;
                too_much := false;
                for m in coalesce(line, o_first[o]) .. coalesce(line, o_first[o] + o_count[o] - 1) loop
                    total := total + coalesce(q, l_qty[m] - l_ref[m]);
                    too_much := too_much or stocks[l_idx[m]]::bigint + coalesce(q, l_qty[m] - l_ref[m]) > 2147483647;
                end loop;
                if total = 0 or q > l_qty[line] - l_ref[line] then
                    a_error[k] := 'already_refunded';
                elsif too_much then
                    a_error[k] := 'stock_limit_exceeded';
                else
                    for m in coalesce(line, o_first[o]) .. coalesce(line, o_first[o] + o_count[o] - 1) loop
                        q := coalesce(p_quantities[k], l_qty[m] - l_ref[m]);
                        if q > 0 then
                            i := l_idx[m];
                            l_ref[m] := l_ref[m] + q;
                            o_ref[o] := o_ref[o] + q;
                            stocks[i] := stocks[i] + q;
                            changed[i] := true;
                            r_req := r_req || k;
                            r_line := r_line || m;
                            r_qty := r_qty || q;
                            r_stock := r_stock || stocks[i];
                            a_stock[k] := case when not o_cart[o] then stocks[i] end;
                        end if;
                    end loop;
                    a_outcome[k] := 'ORDER_REFUNDED';
                    a_quantity[k] := total;
                    if o_cart[o] then
                        lines_of[k] := k;
                    end if;
                end if;
            end if;
            if a_error[k] is not null then
                a_outcome[k] := 'REJECTED';
            end if;
        end if;
    end loop;

    -- 5. The new decisions, in key order, with a plain insert for the reason decide_purchases gives.
    begin
        insert into refund_decisions (idempotency_key, order_id, requested_item, requested_quantity, reason, outcome,
                                      item_id, quantity, stock, error_code, decided_at)
        select x.key, x.ord, x.requested_item, x.requested, x.reason, x.outcome, x.item, x.quantity, x.stock, x.error,
               x.at
        from unnest(p_keys, p_orders, p_items, p_quantities, p_reasons, a_outcome, a_item, a_quantity, a_stock,
                    a_error, a_at, is_new)
             as x(key, ord, requested_item, requested, reason, outcome, item, quantity, stock, error, at, is_new)
        where x.is_new
        order by x.key;
    exception when unique_violation then
        raise exception 'decide_refunds: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end;

    -- Each line put back: its refund line and its ledger row, in the order they were decided, with the
    -- item's stock after it; then each changed line, order and item once.
    insert into refund_lines (refund_key, item_id, order_id, quantity, stock)
    select p_keys[x.req], l_item[x.line], l_order[x.line], x.qty, x.stock
    from unnest(r_req, r_line, r_qty, r_stock) as x(req, line, qty, stock);

    insert into stock_ledger (item_id, delta, reason, order_id, refund_key, note, balance)
    select l_item[x.line], x.qty, 'refund', l_order[x.line], p_keys[x.req], p_reasons[x.req], x.stock
    from unnest(r_req, r_line, r_qty, r_stock) with ordinality as x(req, line, qty, stock, j)
    order by x.j;

    update purchase_lines pl
    set refunded_quantity = x.refunded
    from (select distinct l_order[x.line] as order_id, l_item[x.line] as item_id, l_ref[x.line] as refunded
          from unnest(r_line) as x(line)) x
    where pl.order_id = x.order_id and pl.item_id = x.item_id;

    update purchase_decisions pd
    set refunded_quantity = r.refunded,
        status = case when r.refunded = pd.quantity then 'refunded' else 'partially_refunded' end
    from unnest(o_ids, o_ref) as r(id, refunded)
    where pd.order_id = r.id and pd.refunded_quantity <> r.refunded;

    update items it set stock = s.stock
    from unnest(item_ids, stocks, changed) as s(id, stock, changed)
    where it.id = s.id and s.changed;

    -- A cart order's lines put back: decided in this call, from r_*; decided before, as stored.
    return query
        with decided as (
            select x.req, array_agg(l_item[x.line] order by x.j) as items, array_agg(x.qty order by x.j) as quantities,
                   array_agg(x.stock order by x.j) as stocks
            from unnest(r_req, r_line, r_qty, r_stock) with ordinality as x(req, line, qty, stock, j)
            where lines_of[x.req] = x.req
            group by x.req),
        stored as (
            select rl.refund_key as key, array_agg(rl.item_id order by ol.line_no) as items,
                   array_agg(rl.quantity order by ol.line_no) as quantities,
                   array_agg(rl.stock order by ol.line_no) as stocks
            from refund_lines rl
            join order_lines ol on ol.order_id = rl.order_id and ol.item_id = rl.item_id
            where rl.refund_key = any (array(select p_keys[r] from generate_subscripts(p_keys, 1) as r
                                             where replay[r] and lines_of[r] is null and a_outcome[r] = 'ORDER_REFUNDED'
                                               and o_cart[order_of[r]]))
            group by rl.refund_key)
        select x.k::integer, x.outcome, x.item, x.quantity, x.stock, x.error, x.at, x.replay,
               coalesce(dc.items, s.items), coalesce(dc.quantities, s.quantities), coalesce(dc.stocks, s.stocks)
        from unnest(p_keys, a_outcome, a_item, a_quantity, a_stock, a_error, a_at, replay, lines_of)
             with ordinality as x(key, outcome, item, quantity, stock, error, at, replay, lines_of, k)
        left join decided dc on dc.req = x.lines_of
        left join stored s on s.key = x.key and x.lines_of is null
        order by x.k;
end;
$$;

-- Whole orders or single-item orders' quantities, as before carts: decide_refunds naming no line.
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
    language sql as $$
    select r.ordinal, r.outcome, r.item_id, r.quantity, r.stock, r.error_code, r.decided_at, r.replayed
    from decide_refunds(p_keys, p_orders, array_fill(null::uuid, array[coalesce(cardinality(p_keys), 0)]),
                        p_quantities, p_reasons) r
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

-- Run with their owner's rights on this schema alone, callable by the roles afterMigrate.sql names only, as
-- decide_purchases is (R__purchase.sql).
alter function decide_refunds security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function decide_refunds from public;
alter function refund_orders security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function refund_orders from public;
