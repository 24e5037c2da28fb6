-- Holds, once placed (the tables: V9; placing one: decide_purchases, R__purchase.sql).
--
-- A hold ends exactly once: confirmed, released or expired. Whatever ends one holds the row locks of all
-- its items first, taken in item id order like every other stock change (R__purchase.sql, "Why nothing here
-- can deadlock"), and only then locks the hold's row and reads its status: a confirmation and an expiry of
-- the same hold queue on the same item locks, and the second one finds the hold ended.
--
-- A hold is expired when its expires_at has passed and something needs its items or the hold: a purchase of
-- one of its items (decide_purchases expires them first, so a buyer one millisecond after expires_at finds the
-- stock), a request about the hold, or the sweep, whichever comes first. "Passed" is measured against now(),
-- the time the deciding transaction started: a confirmation that started before expires_at confirms, even if
-- it waited past it for a lock.
--
-- Announcing an expiry exactly once: the sweep (sweep_reservations) marks an expired hold sent, and the
-- service then writes an ExpireReservation record to reservation-requests. The record is decided like every
-- request: in the listener's Kafka transaction, which commits its offset with its outcome. The first record
-- decided for a hold leaves its coordinates in announced_by and publishes ReservationExpired; that same record
-- delivered again (its transaction aborted) publishes it again; any other record (sent twice by a sweep that
-- died before its mark committed, or by a second instance) publishes nothing. Only one record's transaction
-- can commit its offset, so ReservationExpired is committed exactly once per hold.

-- The lines of the given holds, found by the keys that placed them (a single item's hold is its own one line),
-- each with its item's stock after the hold ended.
-- What the functions here read; reservation_lines (V9), every line of every hold, is the audit's.
create or replace function hold_lines(p_ids uuid[])
    returns table (reservation_id uuid, line_no smallint, item_id uuid, quantity integer, end_stock integer)
    language sql stable as $$
    select r.id, l.line_no, l.item_id, l.quantity, r.end_stocks[l.line_no]
    from reservations r
    cross join lateral (select 1::smallint as line_no, d.item_id, d.quantity
                        from purchase_decisions d where d.idempotency_key = r.idempotency_key and d.item_id is not null
                        union all
                        select p.line_no, p.item_id, p.quantity
                        from purchase_lines p where p.idempotency_key = r.idempotency_key) l
    where r.id = any (p_ids)
$$;

-- Expires every live hold whose expires_at has passed and that has a line on one of p_items and none on any
-- other item: its stock goes back, one 'hold_expired' ledger row per item. The caller holds the row locks of
-- p_items (taken in id order), which must not repeat an item. Returns how many holds it expired.
create or replace function expire_due_holds(p_items uuid[]) returns integer
    language plpgsql as $$
declare
    due uuid[];
begin
    if not exists (select 1 from reservations r where r.status = 'held' and r.expires_at <= now()) then
        return 0;
    end if;
    -- The due holds all of whose items are in p_items, by a hash join (&& and <@ compare item by item).
    select coalesce(array_agg(x.id order by x.id), '{}') into due
    from (select r.id
          from reservations r
          where r.status = 'held'
            and r.id in (select d.id from reservations d cross join unnest(d.item_ids) as j(id)
                         join unnest(p_items) as b(id) on b.id = j.id
                         where d.status = 'held' and d.expires_at <= now()
                         group by d.id, cardinality(d.item_ids) having count(*) = cardinality(d.item_ids))
          order by r.id
          for update of r) x;
    if cardinality(due) = 0 then
        return 0;
    end if;

    insert into stock_ledger (item_id, delta, held_delta, reason, reservation_ids, balance)
    select b.item_id, b.quantity, -b.quantity, 'hold_expired', b.ids, i.stock + b.quantity
    from (select l.item_id, sum(l.quantity)::integer as quantity, array_agg(l.reservation_id order by l.reservation_id) as ids
          from hold_lines(due) l group by l.item_id) b
    join items i on i.id = b.item_id
    order by b.item_id;

    update items i set stock = i.stock + b.quantity, held = i.held - b.quantity
    from (select l.item_id, sum(l.quantity)::integer as quantity
          from hold_lines(due) l group by l.item_id) b
    where i.id = b.item_id;

    update reservations r set status = 'expired', ended_at = now(), end_stocks = s.stocks
    from (select l.reservation_id, array_agg(i.stock order by l.line_no) as stocks
          from hold_lines(due) l join items i on i.id = l.item_id
          group by l.reservation_id) s
    where r.id = s.reservation_id;
    return cardinality(due);
end;
$$;

-- The sweep, run by every instance about once a second: expires up to p_limit holds whose expires_at has
-- passed, then marks as sent, and returns, up to p_limit expired holds whose expiry is not announced yet and
-- was not sent within p_resend_after (none that another sweep is marking right now). The caller writes one
-- ExpireReservation per id returned, after this call has committed: a sweep that dies before that leaves its
-- holds expired and unannounced, and they are returned again once p_resend_after has passed.
create or replace function sweep_reservations(p_limit integer, p_resend_after interval) returns setof uuid
    language plpgsql as $$
declare
    due       uuid[];
    due_items uuid[];
begin
    if p_limit is null or p_limit < 1 or p_resend_after is null then
        raise exception 'sweep_reservations: a positive limit and a resend interval are required'
            using errcode = 'invalid_parameter_value';
    end if;
    due := array(select r.id from reservations r where r.status = 'held' and r.expires_at <= now()
                 order by r.expires_at limit p_limit);
    if cardinality(due) > 0 then
        due_items := array(select distinct i.id from reservations r cross join unnest(r.item_ids) as i(id)
                           where r.id = any (due) order by i.id);
        perform 1 from (select it.id from items it where it.id = any (due_items) order by it.id for update) l;
        perform expire_due_holds(due_items);
    end if;
    return query
        update reservations r set expiry_sent_at = now()
        from (select u.id from reservations u
              where u.status = 'expired' and u.announced_by is null
                and (u.expiry_sent_at is null or u.expiry_sent_at <= now() - p_resend_after)
              order by u.id
              limit p_limit
              for update skip locked) s
        where r.id = s.id
        returning r.id;
end;
$$;

-- Decides a batch of requests about holds, in one transaction, as if one by one in array order.
-- p_kinds[k]: confirm, release or extend (each with its idempotency key p_keys[k]; extend with p_hold_for[k]),
-- or expire (no key; p_sources[k] the coordinates of the record that asks, see the top of this file).
-- Answers, never raised: ORDER_CREATED (order_id), RESERVATION_RELEASED, RESERVATION_EXTENDED (expires_at),
-- RESERVATION_EXPIRED (announce it), NONE (an expire that announces nothing), or REJECTED with error_code
-- reservation_not_found | reservation_expired | reservation_confirmed | reservation_released | invalid_hold
-- (p_hold_for not above zero or above p_max_hold) | hold_limit_exceeded (the hold would end more than
-- p_max_lifetime after it was placed) | idempotency_key_reused. Every answer about a known hold names its
-- user, the key that placed it, its item (a single item's), and its lines with, once it ended, each item's
-- stock after it ended. A key decided before is answered with that decision, as decide_purchases does.
create or replace function decide_reservations(p_keys text[], p_kinds text[], p_reservations uuid[],
                                               p_hold_for interval[], p_sources text[],
                                               p_max_hold interval, p_max_lifetime interval)
    returns table (ordinal integer, outcome text, error_code text, order_id uuid, user_id uuid, hold_key text,
                   item_id uuid, expires_at timestamptz, decided_at timestamptz, replayed boolean,
                   line_items uuid[], line_quantities integer[], line_stocks integer[])
    language plpgsql as $$
declare
    n          integer := cardinality(p_keys);
    locked     uuid[];                   -- the holds' items, in id order, locked
    stocks     integer[];                -- per item: stock and held, kept current
    helds      integer[];
    changed    boolean[];
    res_ids    uuid[];                   -- the batch's known holds, in id order
    r_status   text[];                   -- per hold: its state, kept current, ...
    r_user     uuid[];
    r_key      text[];
    r_item     uuid[];                   -- a single item's hold: its item
    r_placed   timestamptz[];
    r_expires  timestamptz[];
    r_order    uuid[];
    r_ended    timestamptz[];
    r_by       text[];
    r_announce text[];
    r_dirty    boolean[];                 -- changed in this batch, ...
    r_ends     boolean[];                 -- ended in this batch, ...
    r_first    integer[];                -- its first line, and how many it has
    r_count    integer[];
    l_hold     integer[];                -- per line, by hold then line_no: its hold's index, ...
    l_item     uuid[];                   -- its item, ...
    l_idx      integer[];                -- that item's index in locked, ...
    l_qty      integer[];
    l_stock    integer[];                -- and the item's stock after the hold ended
    pos        integer[];                -- per request: its hold's index in res_ids, ...
    first_of   integer[];                -- the first request of the batch with its key, ...
    known      reservation_decisions[];  -- and the decision stored for its key
    a_outcome  text[];
    a_error    text[];
    a_order    uuid[];
    a_expires  timestamptz[];
    a_at       timestamptz[];
    replay     boolean[];
    is_new     boolean[];
    d          reservation_decisions;
    f          integer;
    p          integer;
    i          integer;
    new_end    timestamptz;
begin
    if n is distinct from cardinality(p_kinds) or n is distinct from cardinality(p_reservations)
       or n is distinct from cardinality(p_hold_for) or n is distinct from cardinality(p_sources) then
        raise exception 'decide_reservations: the request arrays must have one length'
            using errcode = 'invalid_parameter_value';
    end if;
    if n is null or n = 0 then
        return;
    end if;
    if array_position(p_reservations, null) is not null or array_position(p_kinds, null) is not null
       or exists (select 1 from unnest(p_kinds, p_keys, p_sources) as r(kind, key, source)
                  where r.kind not in ('confirm', 'release', 'extend', 'expire')
                     or (r.kind = 'expire') <> (r.key is null) or (r.kind = 'expire') <> (r.source is not null))
       or p_max_hold is null or p_max_lifetime is null then
        raise exception 'decide_reservations: each request needs a kind, a hold, and a key (a source for expire); the limits are required'
            using errcode = 'null_value_not_allowed';
    end if;

    -- 1. The items of the batch's holds, locked in id order; holds among them whose time is up expire now;
    --    then the holds themselves, locked and read.
    locked := array(select distinct i.id from reservations r cross join unnest(r.item_ids) as i(id)
                      where r.id = any (p_reservations) order by i.id);
    perform 1 from (select it.id from items it where it.id = any (locked) order by it.id for update) l;
    perform expire_due_holds(locked);
    select coalesce(array_agg(it.stock order by it.id), '{}'), coalesce(array_agg(it.held order by it.id), '{}')
    into stocks, helds
    from items it where it.id = any (locked);
    changed := array_fill(false, array[cardinality(locked)]);

    select coalesce(array_agg(r.id order by r.id), '{}'), coalesce(array_agg(r.status order by r.id), '{}'),
           coalesce(array_agg(r.user_id order by r.id), '{}'), coalesce(array_agg(r.idempotency_key order by r.id), '{}'),
           coalesce(array_agg(r.placed_at order by r.id), '{}'), coalesce(array_agg(r.expires_at order by r.id), '{}'),
           coalesce(array_agg(r.order_id order by r.id), '{}'), coalesce(array_agg(r.ended_at order by r.id), '{}'),
           coalesce(array_agg(r.ended_by order by r.id), '{}'), coalesce(array_agg(r.announced_by order by r.id), '{}')
    into res_ids, r_status, r_user, r_key, r_placed, r_expires, r_order, r_ended, r_by, r_announce
    from (select * from reservations r where r.id = any (p_reservations) order by r.id for update) r;
    r_dirty := array_fill(false, array[cardinality(res_ids)]);

    -- Their lines, hold by hold in line order; per hold, where its lines are and, for a single item's, the item.
    select coalesce(array_agg(x.h order by x.h, x.line_no), '{}'), coalesce(array_agg(x.item_id order by x.h, x.line_no), '{}'),
           coalesce(array_agg(it.idx order by x.h, x.line_no), '{}'),
           coalesce(array_agg(x.quantity order by x.h, x.line_no), '{}'),
           coalesce(array_agg(x.end_stock order by x.h, x.line_no), '{}')
    into l_hold, l_item, l_idx, l_qty, l_stock
    from (select l.*, h.h from hold_lines(res_ids) l
          join unnest(res_ids) with ordinality as h(id, h) on h.id = l.reservation_id) x
    join unnest(locked) with ordinality as it(id, idx) on it.id = x.item_id;

    select coalesce(array_agg(g.first order by g.h), '{}'), coalesce(array_agg(g.count order by g.h), '{}'),
           coalesce(array_agg(pd.item_id order by g.h), '{}')
    into r_first, r_count, r_item
    from (select x.h, min(x.m)::integer as first, count(*)::integer as count
          from unnest(l_hold) with ordinality as x(h, m) group by x.h) g
    join purchase_decisions pd on pd.idempotency_key = r_key[g.h];
    r_ends := array_fill(false, array[cardinality(res_ids)]);

    -- Per request: its hold, the first request of the batch with its key, the decision stored for its key.
    select array_agg(r.h order by r.k), array_agg(r.first_k order by r.k), array_agg(r.rd order by r.k)
    into pos, first_of, known
    from (select b.k, h.h::integer, case when b.key is not null then min(b.k) over (partition by b.key) end as first_k, rd
          from unnest(p_keys, p_reservations) with ordinality as b(key, res, k)
          left join unnest(res_ids) with ordinality as h(id, h) on h.id = b.res
          left join lateral (select * from reservation_decisions s where s.idempotency_key = b.key limit 1) rd on true) r;

    a_outcome := array_fill(null::text, array[n]);
    a_error := array_fill(null::text, array[n]);
    a_order := array_fill(null::uuid, array[n]);
    a_expires := array_fill(null::timestamptz, array[n]);
    a_at := array_fill(now(), array[n]);
    replay := array_fill(false, array[n]);
    is_new := array_fill(false, array[n]);

    -- 2.
    for k in 1 .. n loop
        p := pos[k];
        d := known[k];
        f := first_of[k];
        if p_kinds[k] = 'expire' then
            if p is not null and r_status[p] = 'expired'
               and (r_announce[p] is null or r_announce[p] = p_sources[k]) then
                replay[k] := r_announce[p] is not null;
                if r_announce[p] is null then
                    r_announce[p] := p_sources[k];
                    r_dirty[p] := true;
                end if;
                a_outcome[k] := 'RESERVATION_EXPIRED';
                a_expires[k] := r_expires[p];
                a_at[k] := r_ended[p];
            else
                a_outcome[k] := 'NONE';
            end if;
        elsif d.idempotency_key is not null then
            if d.kind = p_kinds[k] and d.reservation_id = p_reservations[k] and d.hold_for is not distinct from p_hold_for[k] then
                a_outcome[k] := d.outcome;
                a_error[k] := d.error_code;
                a_order[k] := d.order_id;
                a_expires[k] := d.expires_at;
                replay[k] := true;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
            a_at[k] := d.decided_at;
        elsif f < k then
            if p_kinds[f] = p_kinds[k] and p_reservations[f] = p_reservations[k] and p_hold_for[f] is not distinct from p_hold_for[k] then
                a_outcome[k] := a_outcome[f];
                a_error[k] := a_error[f];
                a_order[k] := a_order[f];
                a_expires[k] := a_expires[f];
                replay[k] := true;
            else
                a_outcome[k] := 'REJECTED';
                a_error[k] := 'idempotency_key_reused';
            end if;
        else
            is_new[k] := true;
            a_outcome[k] := 'REJECTED';
            if p is null then
                a_error[k] := 'reservation_not_found';
            elsif r_status[p] <> 'held' then
                a_error[k] := 'reservation_' || r_status[p];
            elsif p_kinds[k] = 'extend' then
                new_end := greatest(r_expires[p], now() + p_hold_for[k]);
                if p_hold_for[k] is null or p_hold_for[k] <= interval '0' or p_hold_for[k] > p_max_hold then
                    a_error[k] := 'invalid_hold';
                elsif new_end > r_placed[p] + p_max_lifetime then
                    a_error[k] := 'hold_limit_exceeded';
                else
                    r_expires[p] := new_end;
                    r_dirty[p] := true;
                    a_outcome[k] := 'RESERVATION_EXTENDED';
                    a_expires[k] := new_end;
                end if;
            else
                -- Confirm: the held units are sold. Release: they go back to stock.
                for m in r_first[p] .. r_first[p] + r_count[p] - 1 loop
                    i := l_idx[m];
                    helds[i] := helds[i] - l_qty[m];
                    if p_kinds[k] = 'release' then
                        stocks[i] := stocks[i] + l_qty[m];
                    end if;
                    changed[i] := true;
                end loop;
                for m in r_first[p] .. r_first[p] + r_count[p] - 1 loop
                    l_stock[m] := stocks[l_idx[m]];
                end loop;
                r_status[p] := case when p_kinds[k] = 'confirm' then 'confirmed' else 'released' end;
                r_ended[p] := now();
                r_by[p] := p_keys[k];
                r_dirty[p] := true;
                r_ends[p] := true;
                if p_kinds[k] = 'confirm' then
                    r_order[p] := new_order_id();
                    a_order[k] := r_order[p];
                    a_outcome[k] := 'ORDER_CREATED';
                else
                    a_outcome[k] := 'RESERVATION_RELEASED';
                end if;
            end if;
        end if;
    end loop;

    -- 3. Writes: the new decisions, in key order (a conflict: see decide_purchases), one ledger row per item and
    --    kind of ending, the items, the holds, and the orders that confirmed holds became.
    begin
        insert into reservation_decisions (idempotency_key, kind, reservation_id, hold_for, outcome, error_code,
                                           order_id, expires_at, decided_at)
        select x.key, x.kind, x.res, x.hold_for, x.outcome, x.error, x.order_id, x.expires, x.at
        from unnest(p_keys, p_kinds, p_reservations, p_hold_for, a_outcome, a_error, a_order, a_expires, a_at, is_new)
             as x(key, kind, res, hold_for, outcome, error, order_id, expires, at, is_new)
        where x.is_new
        order by x.key;
    exception when unique_violation then
        raise exception 'decide_reservations: an idempotency key of this batch was decided concurrently; retry the batch'
            using errcode = 'serialization_failure';
    end;

    insert into stock_ledger (item_id, delta, held_delta, reason, order_ids, reservation_ids, balance)
    select e.item, case when e.status = 'released' then e.quantity else 0 end, -e.quantity,
           'hold_' || e.status, e.order_ids, e.ids, s.stock
    from (select l.item, r_status[l.h] as status, sum(l.qty)::integer as quantity,
                 array_agg(r_order[l.h] order by l.h) filter (where r_status[l.h] = 'confirmed') as order_ids,
                 array_agg(res_ids[l.h] order by l.h) as ids
          from unnest(l_hold, l_item, l_qty) as l(h, item, qty)
          where r_ends[l.h]
          group by l.item, r_status[l.h]) e
    join unnest(locked, stocks) as s(id, stock) on s.id = e.item
    order by e.item, e.status desc;

    update items it set stock = s.stock, held = s.held
    from unnest(locked, stocks, helds, changed) as s(id, stock, held, changed)
    where it.id = s.id and s.changed;

    update reservations r
    set status = x.status, expires_at = x.expires, order_id = x.order_id, ended_at = x.ended, ended_by = x.by,
        announced_by = x.announce,
        end_stocks = case when x.ends then l_stock[r_first[x.h]:r_first[x.h] + r_count[x.h] - 1] else r.end_stocks end
    from unnest(res_ids, r_status, r_expires, r_order, r_ended, r_by, r_announce, r_dirty, r_ends)
         with ordinality as x(id, status, expires, order_id, ended, by, announce, dirty, ends, h)
    where r.id = x.id and x.dirty;

    update purchase_decisions pd set order_id = x.order_id, status = 'created', refunded_quantity = 0
    from unnest(r_key, r_order, r_ends) as x(key, order_id, ends)
    where pd.idempotency_key = x.key and x.ends and x.order_id is not null;
    update purchase_lines pl set order_id = x.order_id, refunded_quantity = 0
    from unnest(r_key, r_order, r_ends) as x(key, order_id, ends)
    where pl.idempotency_key = x.key and x.ends and x.order_id is not null;

    -- 4. The answers, each with its hold's lines.
    return query
        select x.k::integer, x.outcome, x.error, x.order_id, r_user[x.p], r_key[x.p], r_item[x.p], x.expires, x.at,
               x.replay,
               case when x.p is not null then l_item[r_first[x.p]:r_first[x.p] + r_count[x.p] - 1] end,
               case when x.p is not null then l_qty[r_first[x.p]:r_first[x.p] + r_count[x.p] - 1] end,
               case when x.p is not null then l_stock[r_first[x.p]:r_first[x.p] + r_count[x.p] - 1] end
        from unnest(a_outcome, a_error, a_order, a_expires, a_at, replay, pos)
             with ordinality as x(outcome, error, order_id, expires, at, replay, p, k)
        order by x.k;
end;
$$;

alter function decide_reservations security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function decide_reservations from public;
alter function sweep_reservations security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function sweep_reservations from public;
revoke execute on function expire_due_holds from public;
