-- The stock ledger, refunds, the operator's restock and the audit.
--
-- Invariant kept from here on: for every item, at every moment, items.stock equals the sum of its
-- stock_ledger rows. Triggers on items write the ledger in the same statement as the change, so it
-- holds whatever writes the row: the functions below, an operator's insert into items, or a direct
-- "update items set stock = ..." (recorded as a correction by the database user who made it).

-- Nothing may change stock or orders until the ledger holds the history of what exists.
lock table items, orders in exclusive mode;

create table stock_ledger (
    id         bigserial   primary key,
    -- Not a foreign key, for the same reason as orders.item_id: rows are written for the item row
    -- their writer holds locked. Deleting an item (possible only while it has no orders) takes its
    -- history with it, see refuse_deleting_sold_items below.
    item_id    uuid        not null,
    delta      integer     not null,
    reason     text        not null check (reason in ('initial', 'sale', 'refund', 'restock', 'correction')),
    -- The reference: the order of a sale or refund, the refund's idempotency key, the operator of a
    -- restock or correction. Not foreign keys: the audit checks that each one traces back.
    order_id   uuid,
    refund_key text,
    operator   text,
    note       text,
    created_at timestamptz not null default now(),
    check (delta <> 0 or reason = 'initial'),
    check ((reason in ('sale', 'refund')) = (order_id is not null)),
    check ((reason = 'refund') = (refund_key is not null))
);

-- Per item in the order of change: every change of one item holds that item's row lock while its
-- ledger row takes the next id, so id order is the order in which the item's stock changed.
create index stock_ledger_item_id_idx on stock_ledger (item_id, id);

-- The history of the items that exist before the ledger does, reconstructed so that the audit
-- holds for them too: an opening balance of the current stock plus everything sold so far, then
-- one sale per existing order, oldest first.
insert into stock_ledger (item_id, delta, reason, operator, note, created_at)
select i.id, i.stock + coalesce(sum(o.quantity), 0)::integer, 'initial', current_user,
       'opening balance reconstructed when the ledger was introduced', i.created_at
from items i left join orders o on o.item_id = i.id
group by i.id
order by i.id;

insert into stock_ledger (item_id, delta, reason, order_id, note, created_at)
select o.item_id, -o.quantity, 'sale', o.id, 'reconstructed when the ledger was introduced', o.created_at
from orders o
order by o.created_at, o.id;

create or replace function refuse_deleting_sold_items() returns trigger
    language plpgsql as $$
begin
    if exists (select 1 from orders o where o.item_id = old.id) then
        raise exception 'item % has orders and cannot be deleted', old.id
            using errcode = 'foreign_key_violation';
    end if;
    delete from stock_ledger l where l.item_id = old.id;
    return old;
end;
$$;

-- Where a stock change comes from is passed to the trigger in transaction-local settings, set by
-- change_stock() just before its update and cleared right after it: checkout.stock_change holds
-- '<reason>:<order id or empty>' (all a sale needs, so the hot path sets one setting);
-- checkout.stock_refund_key, checkout.stock_operator and checkout.stock_note are set only for the
-- changes that have them; 'ledgered:' says the caller wrote the ledger rows of this update itself. An
-- update that finds no reason set is a correction by whoever runs it.
create function record_initial_stock() returns trigger
    language plpgsql as $$
begin
    insert into stock_ledger (item_id, delta, reason, operator, note)
    values (new.id, new.stock, 'initial', current_user, null);
    return null;
end;
$$;

create function record_stock_change() returns trigger
    language plpgsql as $$
declare
    v_change   text := nullif(current_setting('checkout.stock_change', true), '');
    v_reason   text := split_part(v_change, ':', 1);
    v_key      text;
    v_operator text;
    v_note     text;
begin
    -- A caller that has already written one ledger row per change (a batch of sales, see
    -- place_orders) marks its single update of the item 'ledgered'.
    if v_reason = 'ledgered' then
        return null;
    end if;
    if v_change is null then
        v_reason := 'correction';
        v_operator := current_user;
        v_note := 'direct update of items.stock';
    elsif v_reason <> 'sale' then
        v_key := nullif(current_setting('checkout.stock_refund_key', true), '');
        v_operator := nullif(current_setting('checkout.stock_operator', true), '');
        v_note := nullif(current_setting('checkout.stock_note', true), '');
    end if;
    insert into stock_ledger (item_id, delta, reason, order_id, refund_key, operator, note)
    values (new.id, new.stock - old.stock, v_reason, nullif(split_part(v_change, ':', 2), '')::uuid,
            v_key, v_operator, v_note);
    return null;
end;
$$;

create trigger items_initial_stock
    after insert on items
    for each row execute function record_initial_stock();

-- The condition is checked without calling the function: an update already ledgered by its caller
-- (place_orders, one update per item per batch) costs no function call per row.
create trigger items_stock_change
    after update of stock on items
    for each row when (new.stock is distinct from old.stock
                       and current_setting('checkout.stock_change', true) is distinct from 'ledgered:')
    execute function record_stock_change();

-- The one way the functions change stock. The caller holds the item's row lock. Returns the new stock.
create function change_stock(p_item uuid, p_delta integer, p_reason text, p_order uuid,
                             p_refund_key text, p_operator text, p_note text)
    returns integer
    language plpgsql as $$
declare
    v_stock  integer;
    v_detail boolean := p_refund_key is not null or p_operator is not null or p_note is not null;
begin
    perform set_config('checkout.stock_change', p_reason || ':' || coalesce(p_order::text, ''), true);
    if v_detail then
        perform set_config('checkout.stock_refund_key', coalesce(p_refund_key, ''), true),
                set_config('checkout.stock_operator', coalesce(p_operator, ''), true),
                set_config('checkout.stock_note', coalesce(p_note, ''), true);
    end if;
    update items i set stock = i.stock + p_delta where i.id = p_item returning i.stock into v_stock;
    -- Cleared, so that a later update in the same transaction is not taken for this one.
    perform set_config('checkout.stock_change', '', true);
    if v_detail then
        perform set_config('checkout.stock_refund_key', '', true),
                set_config('checkout.stock_operator', '', true),
                set_config('checkout.stock_note', '', true);
    end if;
    return v_stock;
end;
$$;

-- place_order as in V1, except that the sale goes through change_stock() and so into the ledger.
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
            v_order_id := gen_random_uuid();
            v_stock := v_stock - p_quantity;
        else
            v_outcome := 'OUT_OF_STOCK';
        end if;
    end if;

    -- Claim the key before changing anything. A concurrent transaction holding the same key makes
    -- this insert wait until it ends; if it committed, we insert nothing and answer with its
    -- decision instead, so two deliveries of one key always produce one decision.
    insert into purchase_decisions as pd
           (idempotency_key, user_id, item_id, quantity, outcome, order_id, stock, error_code)
    values (p_key, p_user, p_item, coalesce(p_quantity, 0), v_outcome, v_order_id,
            case when v_outcome = 'REJECTED' then null else v_stock end, v_error)
    on conflict (idempotency_key) do nothing
    returning pd.* into d;

    if d.idempotency_key is null then
        select * into d from purchase_decisions where idempotency_key = p_key;
        return query select * from replay_decision(d, p_user, p_item, p_quantity);
        return;
    end if;

    if v_outcome = 'ORDER_CREATED' then
        perform change_stock(p_item, -p_quantity, 'sale', v_order_id, null, null, null);
        insert into orders (id, idempotency_key, user_id, item_id, quantity)
        values (v_order_id, p_key, p_user, p_item, p_quantity);
    end if;

    return query select d.outcome, d.order_id, d.stock, d.error_code, d.decided_at;
end;
$$;

-- How much of each order was given back. status follows from it: created (nothing refunded),
-- partially_refunded, refunded (all of it).
alter table orders
    add column refunded_quantity integer not null default 0
        check (refunded_quantity >= 0 and refunded_quantity <= quantity);

-- One row per refund idempotency key that was ever decided, refunds and refusals alike, like
-- purchase_decisions. A replay of the same request returns this row unchanged.
create table refund_decisions (
    idempotency_key    text        primary key check (length(idempotency_key) between 1 and 200),
    order_id           uuid        not null,
    -- As asked; null means everything of the order not yet refunded.
    requested_quantity integer,
    reason             text        not null check (length(reason) between 1 and 200),
    outcome            text        not null check (outcome in ('ORDER_REFUNDED', 'REJECTED')),
    -- The order's item; null only when the order does not exist.
    item_id            uuid,
    -- ORDER_REFUNDED: the quantity put back and the item's stock after it.
    quantity           integer     check (quantity > 0),
    stock              integer,
    error_code         text,
    decided_at         timestamptz not null default now(),
    check ((outcome = 'ORDER_REFUNDED') = (quantity is not null and stock is not null)),
    check ((outcome = 'REJECTED') = (error_code is not null))
);

create index refund_decisions_order_id_idx on refund_decisions (order_id);

-- The stored decision for p_key as this request's answer: unchanged when the request is the same,
-- or a REJECTED idempotency_key_reused (recorded nowhere, changing nothing) when the key arrives with
-- another order, quantity or reason.
create function replay_refund(d refund_decisions, p_order uuid, p_quantity integer, p_reason text)
    returns table (outcome text, item_id uuid, quantity integer, stock integer, error_code text,
                   decided_at timestamptz)
    language plpgsql stable as $$
begin
    if d.order_id = p_order and d.requested_quantity is not distinct from p_quantity and d.reason = p_reason then
        return query select d.outcome, d.item_id, d.quantity, d.stock, d.error_code, d.decided_at;
    else
        return query select 'REJECTED'::text, (select o.item_id from orders o where o.id = p_order),
                            null::integer, null::integer, 'idempotency_key_reused'::text, now();
    end if;
end;
$$;

-- Decides one refund request in the caller's transaction: puts back p_quantity units of the order
-- (null: everything not yet refunded), at most once per idempotency key and never more than the
-- order holds. Business outcomes are returned as a row, never raised: ORDER_REFUNDED (quantity put
-- back, stock after it) or REJECTED with error_code
--   order_not_found         no such order;
--   invalid_quantity        quantity below 1, above max_purchase_quantity() or above what was ordered;
--   already_refunded        nothing is left to refund, or less is left than asked: the request is
--                           refused whole, never cut to the remainder (ask without a quantity for that);
--   idempotency_key_reused  the key was decided for another order, quantity or reason.
--
-- Locks: the item row, then the order row. Items before orders everywhere (place_orders locks only
-- items, refund_orders locks all its items before any order), so refunds never deadlock with each
-- other or with buyers. orders.item_id never changes, so reading it before the locks is safe.
create function refund_order(p_key text, p_order uuid, p_quantity integer, p_reason text)
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

-- Decides a batch of refund requests in one transaction, with results identical to calling
-- refund_order for each element in array order. The items of all the batch's orders are locked
-- first, in id order, as place_orders does, so batches of refunds and batches of purchases sharing
-- items never deadlock. (One idempotency key reused for different items in two concurrent batches,
-- in opposite orders, can still deadlock on the key itself; PostgreSQL then aborts one batch,
-- which the listener retries.)
create function refund_orders(p_keys text[], p_orders uuid[], p_quantities integer[], p_reasons text[])
    returns table (ordinal integer, outcome text, item_id uuid, quantity integer, stock integer,
                   error_code text, decided_at timestamptz)
    language plpgsql as $$
declare
    n integer := cardinality(p_keys);
begin
    if n is distinct from cardinality(p_orders) or n is distinct from cardinality(p_quantities)
       or n is distinct from cardinality(p_reasons) then
        raise exception 'refund_orders: arrays must have the same length'
            using errcode = 'invalid_parameter_value';
    end if;

    perform 1 from items i
    where i.id in (select o.item_id from orders o where o.id = any (p_orders))
    order by i.id for update;

    for k in 1 .. coalesce(n, 0) loop
        return query select k, r.* from refund_order(p_keys[k], p_orders[k], p_quantities[k], p_reasons[k]) r;
    end loop;
end;
$$;

-- The operators' one way to change stock by hand: a positive delta is a restock, a negative one a
-- correction, which never takes stock below zero. Raises (changing nothing) for an unknown item, a
-- zero delta, a missing operator or a correction larger than the stock. Returns the new stock.
create function restock_item(p_item uuid, p_delta integer, p_operator text, p_note text default null)
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
    if v_stock + p_delta < 0 then
        raise exception 'restock_item: item % has stock %, a correction of % would take it below zero',
            p_item, v_stock, p_delta using errcode = 'check_violation';
    end if;
    return change_stock(p_item, p_delta, case when p_delta > 0 then 'restock' else 'correction' end,
                        null, null, btrim(p_operator), p_note);
end;
$$;

-- Every invariant of the service that the data can show, as (check_name, detail) rows: no row means
-- the database is sound. One statement, so one snapshot: it can run while the service works.
--   stock_never_negative     no item has negative stock, nor had at any point of its ledger
--   stock_equals_ledger      each item's stock is the sum of its ledger rows
--   one_order_per_key        at most one order per idempotency key, and each order is the one its
--                            ORDER_CREATED decision names (and the other way round)
--   refunds_within_order     an order's refunded quantity never exceeds its quantity, equals the sum
--                            of its ORDER_REFUNDED decisions, and its status follows from it
--   one_decision_per_request every sale and every refund in the ledger traces to exactly one
--                            decision, and every decision that moved stock has exactly one ledger row
create function audit_violations()
    returns table (check_name text, detail text)
    language sql stable as $$
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
    select 'one_order_per_key', format('idempotency key %s has %s orders', o.idempotency_key, count(*))
    from orders o group by o.idempotency_key having count(*) > 1
    union all
    select 'one_order_per_key', format('order %s has no ORDER_CREATED decision naming it under key %s',
                                       o.id, o.idempotency_key)
    from orders o
    where not exists (select 1 from purchase_decisions d
                      where d.idempotency_key = o.idempotency_key and d.outcome = 'ORDER_CREATED'
                        and d.order_id = o.id and d.item_id = o.item_id and d.quantity = o.quantity)
    union all
    select 'one_order_per_key', format('decision %s created order %s, which does not exist',
                                       d.idempotency_key, d.order_id)
    from purchase_decisions d
    where d.outcome = 'ORDER_CREATED' and not exists (select 1 from orders o where o.id = d.order_id)
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
    select 'one_decision_per_request', format('order %s has %s sale rows in the ledger adding up to %s, not one of %s',
                                              o.id, coalesce(s.n, 0), coalesce(s.total, 0), -o.quantity)
    from orders o
    left join (select order_id, count(*) as n, sum(delta) as total from stock_ledger
               where reason = 'sale' group by order_id) s on s.order_id = o.id
    where s.n is distinct from 1 or s.total <> -o.quantity
    union all
    select 'one_decision_per_request', format('ledger row %s is a sale of order %s, which does not exist', l.id, l.order_id)
    from stock_ledger l
    where l.reason = 'sale' and not exists (select 1 from orders o where o.id = l.order_id and o.item_id = l.item_id)
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
