-- Items, orders, the record of every decided purchase request, and place_order(): the one
-- function that decides a request atomically. Every invariant of the service lives here.

create table items (
    id         uuid primary key,
    name       text        not null default '',
    -- The floor that makes overselling impossible: no statement can leave stock below zero.
    stock      integer     not null check (stock >= 0),
    created_at timestamptz not null default now()
);

-- One row per idempotency key that was ever decided: created orders and refusals alike.
-- A replay of the same request returns this row unchanged, whatever happened to stock since.
create table purchase_decisions (
    idempotency_key text        primary key check (length(idempotency_key) between 1 and 200),
    user_id         uuid        not null,
    item_id         uuid        not null,
    quantity        integer     not null,
    outcome         text        not null check (outcome in ('ORDER_CREATED', 'OUT_OF_STOCK', 'REJECTED')),
    order_id        uuid,
    -- ORDER_CREATED: stock left after this order; OUT_OF_STOCK: stock that was available.
    stock           integer,
    error_code      text,
    decided_at      timestamptz not null default now(),
    check ((outcome = 'ORDER_CREATED') = (order_id is not null)),
    check ((outcome = 'REJECTED') = (error_code is not null))
);

create table orders (
    id              uuid        primary key,
    -- At most one order per idempotency key, enforced twice: by this unique key and by the
    -- decision it belongs to.
    idempotency_key text        not null unique references purchase_decisions (idempotency_key),
    user_id         uuid        not null,
    -- Not a foreign key: a foreign key checks (and share-locks) the item row for every order
    -- inserted, which on a hot item cost about a third of each sale. Orders are only inserted by the
    -- functions below, for the item row they hold locked, and the trigger after this table refuses to
    -- delete an item that has orders.
    item_id         uuid        not null,
    quantity        integer     not null check (quantity > 0),
    status          text        not null default 'created'
                                check (status in ('created', 'partially_refunded', 'refunded')),
    created_at      timestamptz not null default now()
);

create index orders_item_id_idx on orders (item_id);

create function refuse_deleting_sold_items() returns trigger
    language plpgsql as $$
begin
    if exists (select 1 from orders o where o.item_id = old.id) then
        raise exception 'item % has orders and cannot be deleted', old.id
            using errcode = 'foreign_key_violation';
    end if;
    return old;
end;
$$;

create trigger items_refuse_deleting_sold
    before delete on items
    for each row execute function refuse_deleting_sold_items();

-- The largest quantity one request may buy; the request schema says the same.
create function max_purchase_quantity() returns integer
    language sql immutable parallel safe as 'select 1000';

-- Returns the stored decision for p_key as this request's answer: the first decision unchanged
-- when the request is the same, or a REJECTED idempotency_key_reused (recorded nowhere, changing
-- nothing) when the key arrives with another user, item or quantity.
create function replay_decision(d purchase_decisions, p_user uuid, p_item uuid, p_quantity integer)
    returns table (outcome text, order_id uuid, stock integer, error_code text, decided_at timestamptz)
    language plpgsql stable as $$
begin
    if d.user_id = p_user and d.item_id = p_item and d.quantity is not distinct from p_quantity then
        return query select d.outcome, d.order_id, d.stock, d.error_code, d.decided_at;
    else
        return query select 'REJECTED'::text, null::uuid, null::integer,
                            'idempotency_key_reused'::text, now();
    end if;
end;
$$;

-- Decides one purchase request in the caller's transaction. Business outcomes are returned as a
-- row, never raised: ORDER_CREATED (order_id, stock = remaining), OUT_OF_STOCK (stock = available),
-- REJECTED (error_code item_not_found | invalid_quantity | idempotency_key_reused).
create function place_order(p_key text, p_user uuid, p_item uuid, p_quantity integer)
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
        update items set stock = v_stock where id = p_item;
        insert into orders (id, idempotency_key, user_id, item_id, quantity)
        values (v_order_id, p_key, p_user, p_item, p_quantity);
    end if;

    return query select d.outcome, d.order_id, d.stock, d.error_code, d.decided_at;
end;
$$;

-- Decides a batch of requests in one transaction, with results identical to calling place_order
-- for each element in array order. The items of the batch are locked first, in id order, so that
-- two batches sharing items never deadlock; each request then decides under locks it already holds.
create function place_orders(p_keys text[], p_users uuid[], p_items uuid[], p_quantities integer[])
    returns table (ordinal integer, outcome text, order_id uuid, stock integer, error_code text,
                   decided_at timestamptz)
    language plpgsql as $$
declare
    n integer := cardinality(p_keys);
begin
    if n is distinct from cardinality(p_users) or n is distinct from cardinality(p_items)
       or n is distinct from cardinality(p_quantities) then
        raise exception 'place_orders: arrays must have the same length'
            using errcode = 'invalid_parameter_value';
    end if;

    perform 1 from items i where i.id = any (p_items) order by i.id for update;

    for k in 1 .. coalesce(n, 0) loop
        return query select k, p.* from place_order(p_keys[k], p_users[k], p_items[k], p_quantities[k]) p;
    end loop;
end;
$$;
