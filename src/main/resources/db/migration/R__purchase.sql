-- Purchases, as they stand now (the tables: V1, V5, V7 and V8).
--
-- decide_purchases decides a batch of purchase requests in one transaction: single-item requests and
-- carts together, each cart all or nothing. Every table is read and written once per batch, not once
-- per request: updating one row again and again inside a transaction leaves a row version each time,
-- and every later lock or update of that row walks all of them. It
--   1. locks every item that any line of the batch names, in id order, once, and reads their stock,
--   2. sums the lines of a request that name the same item (one merged line per request and item), and
--      finds for every request its stored decision and the first request of the batch with its key,
--   3. decides each request in array order, against the stock it keeps in local arrays (the loop runs
--      no query): a cart takes every one of its lines or none,
--   4. writes the new decisions (an order is the decision that created it) and the carts' lines, one
--      ledger row per item and each changed item once, and returns all the answers at once.
-- Business outcomes are returned as rows, never raised: ORDER_CREATED (order_id, stock = remaining),
-- STOCK_RESERVED (a hold: reservation_id, expires_at, stock = remaining), OUT_OF_STOCK (stock = available),
-- REJECTED (error_code item_not_found | invalid_quantity | empty_cart | too_many_lines | invalid_hold |
-- idempotency_key_reused). A cart's stock is per line, in line_stocks.
-- A key decided before, in an earlier batch or earlier in this one, is answered with that decision
-- unchanged, decided_at and lines included; arriving with another user, item or quantity (a cart:
-- other lines, compared after summing and in any order), it is rejected as idempotency_key_reused,
-- recorded nowhere and changing nothing, with the decided_at of the decision it conflicts with, so that
-- its redelivery is answered identically too. replayed says that a request was answered with a
-- decision made before, not decided now.
--
-- Why nothing here can deadlock: every transaction that changes stock (decide_purchases,
-- decide_refunds, restock_item, and decide_reservations and sweep_reservations, which end holds) first
-- takes all of its item row locks in one statement, in item id order, and takes no other lock before them.
-- A hold's row is locked only after its items (R__reservation.sql). Two transactions that need some of the same items queue
-- on the lowest id they share: none can hold a higher item while it waits for a lower one. After the
-- item locks, the only waits left are on idempotency keys, inserted in key order for the same reason.

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

-- The most lines a cart may have; the request schema says the same.
create or replace function max_cart_lines() returns integer
    language sql immutable parallel safe as 'select 50';

-- A cart's fingerprint, what a redelivery is compared by: its items and their summed quantities, in item
-- order, so that the same lines sent in another order or split differently are the same cart.
create or replace function cart_digest(p_items uuid[], p_quantities bigint[]) returns text
    language sql immutable parallel safe as $$
    select md5(coalesce(string_agg(l.item::text || '*' || l.quantity, ',' order by l.item), ''))
    from unnest(p_items, p_quantities) as l(item, quantity)
$$;

-- Lines are passed flattened: line j belongs to request p_line_of[j] and names p_items[j] and
-- p_quantities[j]. A single-item request (p_carts false) has exactly one line, a cart any number.
-- p_hold_for[k], when not null, asks for a hold instead of an order (V9, R__reservation.sql): the stock is
-- taken all the same, into items.held, until the hold ends. It must be above zero and at most p_max_hold.
-- Dropped once, where an earlier release left decide_purchases without holds, so that the create or replace
-- below keeps its grants every other time.
do $$
declare
    f regprocedure := to_regprocedure('decide_purchases(text[], uuid[], boolean[], integer[], uuid[], integer[])');
begin
    if f is not null then
        drop function decide_purchases(text[], uuid[], boolean[], integer[], uuid[], integer[]);
    end if;
end
$$;

create or replace function decide_purchases(p_keys text[], p_users uuid[], p_carts boolean[], p_line_of integer[],
                                            p_items uuid[], p_quantities integer[],
                                            p_hold_for interval[] default null, p_max_hold interval default null)
    returns table (ordinal integer, outcome text, order_id uuid, stock integer, error_code text,
                   decided_at timestamptz, replayed boolean,
                   line_items uuid[], line_quantities integer[], line_stocks integer[], line_errors text[],
                   reservation_id uuid, expires_at timestamptz)
    language plpgsql as $$
declare
    n         integer := cardinality(p_keys);
    item_ids  uuid[];                -- the batch's items, in id order
    stocks    integer[];             -- per item: its stock, kept current as requests are decided, ...
    helds     integer[];             -- the units live holds took from it, ...
    held_now  integer[];             -- of which taken by holds of this batch
    sold      boolean[];
    due_items uuid[];                -- items of holds whose time is up and that share an item with the batch
    m_req     integer[];             -- per merged line: its request, ...
    m_item    uuid[];                -- its item, ...
    m_idx     integer[];             -- that item's index in item_ids, null if unknown, ...
    m_qty     bigint[];              -- the quantities of the request's lines naming it, summed, ...
    m_bad     boolean[];             -- one of those quantities is out of range, ...
    m_sent    integer[];             -- how many lines they were, ...
    m_stock   integer[];             -- and the answer: the stock after or available, ...
    m_error   text[];                -- or why it made its cart rejected
    first_m   integer[];             -- per request: its first merged line, ...
    count_m   integer[];             -- how many it has, ...
    sent      integer[];             -- how many lines it was sent with, ...
    digest    text[];                -- a cart's fingerprint, ...
    first_of  integer[];             -- the first request of the batch with its key, ...
    known     purchase_decisions[];  -- and the decision stored for its key, if any
    a_outcome text[];                -- per request: the answer
    a_order   uuid[];
    a_stock   integer[];
    a_error   text[];
    a_at      timestamptz[];
    a_res     uuid[];                -- a hold's id and end
    a_expires timestamptz[];
    a_total   integer[];             -- the units it asks for (0 for a single item without a quantity)
    lines_of  integer[];             -- the request whose merged lines are its answer's lines, if any
    is_new    boolean[];             -- it made a new decision, to be written
    replay    boolean[];             -- it was answered with a decision made before
    d         purchase_decisions;
    f         integer;
    i         integer;
    j         integer;
    last_m    integer;
    failed    text;
    short     boolean;
begin
    if n is distinct from cardinality(p_users) or n is distinct from cardinality(p_carts)
       or cardinality(p_line_of) is distinct from cardinality(p_items)
       or cardinality(p_line_of) is distinct from cardinality(p_quantities)
       or (p_hold_for is not null and n is distinct from cardinality(p_hold_for)) then
        raise exception 'decide_purchases: the request arrays and the line arrays must each have one length'
            using errcode = 'invalid_parameter_value';
    end if;
    if n is null or n = 0 then
        return;
    end if;
    if array_position(p_keys, null) is not null or array_position(p_users, null) is not null
       or array_position(p_carts, null) is not null or array_position(p_line_of, null) is not null
       or array_position(p_items, null) is not null then
        raise exception 'decide_purchases: idempotency key, user, cart flag, and each line''s request and item are required'
            using errcode = 'null_value_not_allowed';
    end if;

    if p_max_hold is null and exists (select 1 from unnest(p_hold_for) as h where h is not null) then
        raise exception 'decide_purchases: holds need p_max_hold' using errcode = 'null_value_not_allowed';
    end if;

    -- 1. Nobody else can change these items until this transaction ends. See "Why nothing here can
    --    deadlock" above. A hold whose time is up gives its stock back before anything is decided, so the items
    --    of a hold of several items are locked too when it shares one with the batch (expire_due_holds,
    --    R__reservation.sql). The due holds are matched to the batch's items by a hash join: && compares every
    --    item of one with every item of the other.
    if exists (select 1 from reservations r where r.status = 'held' and r.expires_at <= now()) then
        due_items := array(select distinct i.id from reservations r cross join unnest(r.item_ids) as i(id)
                           where r.id in (select h.id from reservations h cross join unnest(h.item_ids) as x(id)
                                          join unnest(p_items) as b(id) on b.id = x.id
                                          where h.status = 'held' and h.expires_at <= now()
                                            and cardinality(h.item_ids) > 1));
    end if;
    select coalesce(array_agg(l.id order by l.id), '{}'), coalesce(array_agg(l.stock order by l.id), '{}'),
           coalesce(array_agg(l.held order by l.id), '{}')
    into item_ids, stocks, helds
    from (select it.id, it.stock, it.held from items it
          where it.id = any (p_items) or it.id = any (due_items) order by it.id for update) l;
    if 0 < any (helds) and expire_due_holds(item_ids) > 0 then
        select coalesce(array_agg(it.stock order by it.id), '{}'), coalesce(array_agg(it.held order by it.id), '{}')
        into stocks, helds
        from items it where it.id = any (item_ids);
    end if;
    sold := array_fill(false, array[cardinality(item_ids)]);
    held_now := array_fill(0, array[cardinality(item_ids)]);

    -- 2. The merged lines, by request and then in the order their items first appear.
    select coalesce(array_agg(x.req order by x.req, x.pos), '{}'), coalesce(array_agg(x.item order by x.req, x.pos), '{}'),
           coalesce(array_agg(it.idx order by x.req, x.pos), '{}'), coalesce(array_agg(x.qty order by x.req, x.pos), '{}'),
           coalesce(array_agg(x.bad order by x.req, x.pos), '{}'), coalesce(array_agg(x.sent order by x.req, x.pos), '{}')
    into m_req, m_item, m_idx, m_qty, m_bad, m_sent
    from (select l.req, l.item, min(l.j) as pos, sum(l.q) as qty, count(*) as sent,
                 bool_or(l.q is null or l.q < 1 or l.q > max_purchase_quantity()) as bad
          from unnest(p_line_of, p_items, p_quantities) with ordinality as l(req, item, q, j)
          group by l.req, l.item) x
    left join unnest(item_ids) with ordinality as it(id, idx) on it.id = x.item;
    m_stock := array_fill(null::integer, array[cardinality(m_req)]);
    m_error := array_fill(null::text, array[cardinality(m_req)]);

    --    Per request: where its merged lines are, how many lines it was sent with, its fingerprint if a
    --    cart, the first request of the batch with its key, and the decision stored for that key. After
    --    the locks, so a decision committed by a transaction we waited for is seen here.
    select array_agg(m.first_m order by r.k), array_agg(coalesce(m.count_m, 0) order by r.k),
           array_agg(coalesce(m.total, 0) order by r.k),
           array_agg(coalesce(m.sent, 0) order by r.k),
           array_agg(case when p_carts[r.k] then coalesce(m.digest, cart_digest('{}', '{}')) end order by r.k),
           array_agg(r.first_k order by r.k), array_agg(r.pd order by r.k)
    into first_m, count_m, a_total, sent, digest, first_of, known
    from (select b.k, min(b.k) over (partition by b.key) as first_k, pd
          from unnest(p_keys) with ordinality as b(key, k)
          left join lateral (select * from purchase_decisions s where s.idempotency_key = b.key limit 1) pd on true) r
    left join (select x.req, min(x.m)::integer as first_m, count(*)::integer as count_m,
                      least(sum(x.qty), 2147483647)::integer as total, sum(x.sent)::integer as sent,
                      case when p_carts[x.req] then cart_digest(array_agg(x.item) filter (where p_carts[x.req]),
                                                                array_agg(x.qty) filter (where p_carts[x.req])) end as digest
               from unnest(m_req, m_item, m_qty, m_sent) with ordinality as x(req, item, qty, sent, m)
               group by x.req) m on m.req = r.k;

    if exists (select 1 from unnest(p_carts, sent) as r(cart, sent) where not r.cart and r.sent <> 1) then
        raise exception 'decide_purchases: a single-item request needs exactly one line'
            using errcode = 'invalid_parameter_value';
    end if;

    a_outcome := array_fill(null::text, array[n]);
    a_order := array_fill(null::uuid, array[n]);
    a_stock := array_fill(null::integer, array[n]);
    a_error := array_fill(null::text, array[n]);
    a_at := array_fill(now(), array[n]);
    a_res := array_fill(null::uuid, array[n]);
    a_expires := array_fill(null::timestamptz, array[n]);
    lines_of := array_fill(null::integer, array[n]);
    is_new := array_fill(false, array[n]);
    replay := array_fill(false, array[n]);

    -- 3.
    for k in 1 .. n loop
        d := known[k];
        f := first_of[k];
        j := first_m[k];
        last_m := j + count_m[k] - 1;
        if d.idempotency_key is not null then
            -- Decided before: the first decision unchanged, or the key was reused for another request.
            if d.user_id = p_users[k] and d.hold_for is not distinct from p_hold_for[k]
               and (case when p_carts[k] then d.lines_digest = digest[k]
                         else d.item_id = m_item[j] and d.quantity = a_total[k] end) then
                a_outcome[k] := d.outcome;
                a_order[k] := case when d.outcome = 'ORDER_CREATED' then d.order_id end;
                a_res[k] := d.reservation_id;
                a_expires[k] := d.expires_at;
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
            if p_users[f] = p_users[k] and p_carts[f] = p_carts[k] and p_hold_for[f] is not distinct from p_hold_for[k]
               and (case when p_carts[k] then digest[f] = digest[k]
                         else m_item[first_m[f]] = m_item[j] and a_total[f] = a_total[k] end) then
                a_outcome[k] := a_outcome[f];
                a_order[k] := a_order[f];
                a_stock[k] := a_stock[f];
                a_error[k] := a_error[f];
                a_res[k] := a_res[f];
                a_expires[k] := a_expires[f];
                lines_of[k] := lines_of[f];
                replay[k] := true;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
        elsif not p_carts[k] then
            is_new[k] := true;
            i := m_idx[j];
            if m_bad[j] then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'invalid_quantity';
            elsif p_hold_for[k] <= interval '0' or p_hold_for[k] > p_max_hold then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'invalid_hold';
            elsif i is null then
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'item_not_found';
            elsif stocks[i] >= m_qty[j] then
                stocks[i] := stocks[i] - m_qty[j];
                sold[i] := true;
                a_stock[k] := stocks[i];
                if p_hold_for[k] is null then
                    a_outcome[k] := 'ORDER_CREATED';
                    a_order[k] := new_order_id();
                else
                    helds[i] := helds[i] + m_qty[j];
                    held_now[i] := held_now[i] + m_qty[j];
                    a_outcome[k] := 'STOCK_RESERVED';
                    a_res[k] := new_order_id();
                    a_expires[k] := now() + p_hold_for[k];
                end if;
            else
                a_outcome[k] := 'OUT_OF_STOCK';
                a_stock[k] := stocks[i];
            end if;
        else
            is_new[k] := true;
            failed := null;
            if sent[k] > max_cart_lines() then
                failed := 'too_many_lines';
            elsif sent[k] = 0 then
                failed := 'empty_cart';
            elsif p_hold_for[k] <= interval '0' or p_hold_for[k] > p_max_hold then
                failed := 'invalid_hold';
            else
                lines_of[k] := k;
                for m in j .. last_m loop
                    if m_bad[m] or m_qty[m] > max_purchase_quantity() then
                        m_error[m] := 'invalid_quantity';
                        failed := 'invalid_quantity';
                    end if;
                end loop;
                if failed is null then
                    for m in j .. last_m loop
                        if m_idx[m] is null then
                            m_error[m] := 'item_not_found';
                            failed := 'item_not_found';
                        end if;
                    end loop;
                end if;
            end if;
            if failed is not null then
                a_outcome[k] := 'REJECTED';
                a_error[k] := failed;
            else
                -- All or nothing: every line is checked before any stock is taken.
                short := false;
                for m in j .. last_m loop
                    short := short or stocks[m_idx[m]] < m_qty[m];
                end loop;
                if short then
                    a_outcome[k] := 'OUT_OF_STOCK';
                    for m in j .. last_m loop
                        m_stock[m] := stocks[m_idx[m]];
                    end loop;
                else
                    if p_hold_for[k] is null then
                        a_outcome[k] := 'ORDER_CREATED';
                        a_order[k] := new_order_id();
                    else
                        a_outcome[k] := 'STOCK_RESERVED';
                        a_res[k] := new_order_id();
                        a_expires[k] := now() + p_hold_for[k];
                    end if;
                    for m in j .. last_m loop
                        i := m_idx[m];
                        stocks[i] := stocks[i] - m_qty[m];
                        sold[i] := true;
                        m_stock[m] := stocks[i];
                        if p_hold_for[k] is not null then
                            helds[i] := helds[i] + m_qty[m];
                            held_now[i] := held_now[i] + m_qty[m];
                        end if;
                    end loop;
                end if;
            end if;
        end if;
    end loop;

    -- 4. A plain insert, in key order: step 2 found no decision for these keys after the item locks, so a
    --    conflict here is a concurrent transaction deciding the same key for another request: the batch
    --    rolls back with serialization_failure, and its retry finds that decision in step 2 and replays it.
    begin
        insert into purchase_decisions (idempotency_key, user_id, item_id, quantity, outcome, order_id, stock,
                                        error_code, decided_at, status, refunded_quantity, lines_digest,
                                        reservation_id, expires_at, hold_for)
        select x.key, x.usr, case when not x.cart then m_item[first_m[x.k]] end, x.total, x.outcome, x.order_id,
               x.stock, x.error, x.at, case when x.order_id is not null then 'created' end,
               case when x.order_id is not null then 0 end, digest[x.k], a_res[x.k], a_expires[x.k], p_hold_for[x.k]
        from unnest(p_keys, p_users, p_carts, a_total, a_outcome, a_order, a_stock, a_error, a_at, is_new)
             with ordinality as x(key, usr, cart, total, outcome, order_id, stock, error, at, is_new, k)
        where x.is_new
        order by x.key;
    exception when unique_violation then
        raise exception 'decide_purchases: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end;

    insert into purchase_lines (idempotency_key, line_no, item_id, quantity, stock, error_code, order_id,
                                refunded_quantity)
    select p_keys[x.req], x.m - first_m[x.req] + 1, x.item, least(x.qty, 2147483647), x.stock, x.error,
           a_order[x.req], case when a_order[x.req] is not null then 0 end
    from unnest(m_req, m_item, m_qty, m_stock, m_error) with ordinality as x(req, item, qty, stock, error, m)
    where is_new[x.req] and lines_of[x.req] = x.req;

    -- The new holds.
    insert into reservations (id, idempotency_key, user_id, placed_at, expires_at, item_ids)
    select a_res[x.k], x.key, p_users[x.k], a_at[x.k], a_expires[x.k],
           array(select m_item[m] from generate_series(first_m[x.k], first_m[x.k] + count_m[x.k] - 1) as m order by 1)
    from unnest(p_keys) with ordinality as x(key, k)
    where is_new[x.k] and a_res[x.k] is not null
    order by a_res[x.k];

    -- One ledger row per item for all of its sales in this batch, naming their orders in the order
    -- they were decided, and one for all of its new holds; each with the item's stock after it, as if
    -- the sales came first. Then one update per item.
    insert into stock_ledger (item_id, delta, held_delta, reason, order_ids, reservation_ids, balance)
    select x.item, -x.qty, case when x.hold then x.qty else 0 end, case when x.hold then 'holds' else 'sales' end,
           case when not x.hold then x.ids end, case when x.hold then x.ids end,
           s.stock + case when x.hold then 0 else s.held_now end
    from (select x.item, a_res[x.req] is not null as hold, sum(x.qty)::integer as qty,
                 array_agg(coalesce(a_order[x.req], a_res[x.req]) order by x.req) as ids
          from unnest(m_req, m_item, m_qty) as x(req, item, qty)
          where is_new[x.req] and (a_order[x.req] is not null or a_res[x.req] is not null)
          group by x.item, a_res[x.req] is not null) x
    join unnest(item_ids, stocks, held_now) as s(id, stock, held_now) on s.id = x.item
    order by x.item, x.hold;

    update items it set stock = s.stock, held = s.held
    from unnest(item_ids, stocks, helds, sold) as s(id, stock, held, sold)
    where it.id = s.id and s.sold;

    if not (true = any (p_carts)) then
        return query
            select x.k::integer, x.outcome, x.order_id, x.stock, x.error, x.at, x.replay, null::uuid[], null::integer[],
                   null::integer[], null::text[], x.res, x.expires
            from unnest(a_outcome, a_order, a_stock, a_error, a_at, replay, a_res, a_expires)
                 with ordinality as x(outcome, order_id, stock, error, at, replay, res, expires, k)
            order by x.k;
        return;
    end if;
    -- A cart's lines: decided in this call, from the merged lines; decided before, as stored.
    return query
        with merged as (
            select x.req, array_agg(x.item order by x.m) as items,
                   array_agg(least(x.qty, 2147483647)::integer order by x.m) as quantities,
                   array_agg(x.stock order by x.m) as stocks, array_agg(x.error order by x.m) as errors
            from unnest(m_req, m_item, m_qty, m_stock, m_error) with ordinality as x(req, item, qty, stock, error, m)
            where lines_of[x.req] = x.req
            group by x.req),
        stored as (
            select l.idempotency_key as key, array_agg(l.item_id order by l.line_no) as items,
                   array_agg(l.quantity order by l.line_no) as quantities,
                   array_agg(l.stock order by l.line_no) as stocks, array_agg(l.error_code order by l.line_no) as errors
            from purchase_lines l
            where l.idempotency_key = any (array(select p_keys[r] from generate_subscripts(p_keys, 1) as r
                                                 where p_carts[r] and replay[r] and lines_of[r] is null))
            group by l.idempotency_key)
        select x.k::integer, x.outcome, x.order_id, x.stock, x.error, x.at, x.replay,
               coalesce(m.items, s.items), coalesce(m.quantities, s.quantities), coalesce(m.stocks, s.stocks),
               coalesce(m.errors, s.errors), x.res, x.expires
        from unnest(p_keys, a_outcome, a_order, a_stock, a_error, a_at, replay, lines_of, a_res, a_expires)
             with ordinality as x(key, outcome, order_id, stock, error, at, replay, lines_of, res, expires, k)
        left join merged m on m.req = x.lines_of
        left join stored s on s.key = x.key and x.replay and x.lines_of is null and p_carts[x.k]
        order by x.k;
end;
$$;

-- Single-item requests only, as before carts: decide_purchases with one line per request.
-- Dropped once, where an earlier release left place_orders without replayed, so that the create or
-- replace below keeps its grants every other time.
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
    language sql as $$
    select p.ordinal, p.outcome, p.order_id, p.stock, p.error_code, p.decided_at, p.replayed
    from decide_purchases(p_keys, p_users, array_fill(false, array[coalesce(cardinality(p_keys), 0)]),
                          array(select generate_series(1, coalesce(cardinality(p_keys), 0))), p_items, p_quantities) p
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

-- The service may run as a role that can write no table (db/roles.sql): decide_purchases runs with its
-- owner's rights, on this schema alone (pg_temp last, so that no temporary table of the caller's stands in
-- for one of these), and only the roles afterMigrate.sql names may call it; so does place_orders.
alter function decide_purchases security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function decide_purchases from public;
alter function place_orders security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function place_orders from public;
