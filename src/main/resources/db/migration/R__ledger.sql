-- Stock and its ledger, as they stand now (the tables: V1, V2, V4 and V7).
--
-- Invariant: for every item, at every moment, items.stock equals the sum of its stock_ledger rows, and
-- each ledger row's balance is the item's stock after it. Whoever changes stock writes the ledger rows
-- first and then the item, in one transaction, holding the item's row lock: place_orders (a 'sales'
-- row per item and batch), refund_orders (a 'refund' row per refund) and restock_item below. The
-- triggers keep the invariant for everything else: an item inserted by hand gets its 'initial' row,
-- and an update of items.stock that no ledger row accounts for is recorded as a 'correction' by the
-- database user who made it.

-- An item's opening balance, for every item a statement inserts.
create or replace function ledger_initial_stock() returns trigger
    language plpgsql as $$
begin
    insert into stock_ledger (item_id, delta, reason, operator, balance)
    select a.id, a.stock, 'initial', current_user, a.stock from added a order by a.id;
    return null;
end;
$$;

-- The guard, once per statement that updates items: an item whose newest ledger row does not hold its
-- new stock was changed by hand, and that change is recorded as a correction. The functions in these
-- files write their ledger rows before they update the item, so their updates record nothing; one
-- index probe per changed item checks it.
create or replace function ledger_unledgered_changes() returns trigger
    language plpgsql as $$
begin
    insert into stock_ledger (item_id, delta, reason, operator, note, balance)
    select n.id, n.stock - o.stock, 'correction', current_user, 'direct update of items.stock', n.stock
    from changed_to n
    join changed_from o on o.id = n.id
    where n.stock <> o.stock
      and (select l.balance from stock_ledger l where l.item_id = n.id order by l.id desc limit 1)
          is distinct from n.stock
    order by n.id;
    return null;
end;
$$;

-- Items are ids that never change, so old and new rows pair up by id.
create or replace trigger items_ledger_initial
    after insert on items
    referencing new table as added
    for each statement execute function ledger_initial_stock();

create or replace trigger items_ledger_guard
    after update on items
    referencing old table as changed_from new table as changed_to
    for each statement execute function ledger_unledgered_changes();

-- An item that was ever sold cannot be deleted; one that never was takes its ledger rows with it.
create or replace function refuse_deleting_sold_items() returns trigger
    language plpgsql as $$
begin
    if exists (select 1 from stock_ledger l where l.item_id = old.id and l.reason in ('sale', 'sales', 'holds')) then
        raise exception 'item % has orders and cannot be deleted', old.id
            using errcode = 'foreign_key_violation';
    end if;
    delete from stock_ledger l where l.item_id = old.id;
    return old;
end;
$$;

create or replace trigger items_refuse_deleting_sold
    before delete on items
    for each row execute function refuse_deleting_sold_items();

-- The operators' one way to change stock by hand: a positive delta is a restock, a negative one a
-- correction, which never takes stock below zero nor past the integer maximum. Raises (changing
-- nothing) for an unknown item, a zero delta, a missing operator or a change out of range. Returns
-- the new stock.
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
    v_stock := v_stock + p_delta;
    insert into stock_ledger (item_id, delta, reason, operator, note, balance)
    values (p_item, p_delta, case when p_delta > 0 then 'restock' else 'correction' end, btrim(p_operator), p_note,
            v_stock);
    update items set stock = v_stock where id = p_item;
    return v_stock;
end;
$$;

-- Runs with its owner's rights on this schema alone, callable by the roles afterMigrate.sql names only, as
-- place_orders is (R__purchase.sql).
alter function restock_item security definer set search_path = "${flyway:defaultSchema}", pg_temp;
revoke execute on function restock_item from public;
