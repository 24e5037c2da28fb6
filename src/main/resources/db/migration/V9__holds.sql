-- Holds: stock reserved for a payment window, then confirmed, released or expired, each exactly once
-- (docs/holds.md). The functions are in R__purchase.sql (placing a hold) and R__reservation.sql.
--
-- A hold is a purchase decision with the outcome STOCK_RESERVED, stored like an order: a single item's in
-- purchase_decisions alone, a cart's with its purchase_lines. Its stock leaves items.stock at once and is
-- counted in items.held until the hold ends. Confirmed, the decision becomes an order (order_id, status and
-- refunded_quantity are set, of the decision and of its lines), refundable like any other.

-- Units taken from stock by live holds.
alter table items add column held integer not null default 0 check (held >= 0);

alter table purchase_decisions drop constraint purchase_decisions_outcome_check;
alter table purchase_decisions add constraint purchase_decisions_outcome_check
    check (outcome in ('ORDER_CREATED', 'OUT_OF_STOCK', 'REJECTED', 'STOCK_RESERVED'));
-- A hold has an order once it is confirmed.
alter table purchase_decisions drop constraint purchase_decisions_check;
alter table purchase_decisions add constraint purchase_decisions_order_check
    check ((outcome = 'ORDER_CREATED') <= (order_id is not null)
           and (order_id is null or outcome in ('ORDER_CREATED', 'STOCK_RESERVED')));
-- As decided: the hold's id, when it was to end, and how long it was asked for. A request asking for another
-- duration, or for none, under the same key is another request.
alter table purchase_decisions add column reservation_id uuid;
alter table purchase_decisions add column expires_at timestamptz;
alter table purchase_decisions add column hold_for interval;
alter table purchase_decisions add constraint purchase_decisions_hold_check
    check ((outcome = 'STOCK_RESERVED') = (reservation_id is not null)
           and (reservation_id is null) = (expires_at is null));

-- One row per hold, written with its decision. status held until exactly one of confirmed, released or
-- expired; expires_at moves only while held (extensions). ended_by: the idempotency key of the request that
-- confirmed or released it. end_stocks: per line (in line order), the item's stock after the hold ended.
-- expiry_sent_at and announced_by make the expiry announced exactly once (R__reservation.sql). item_ids: its
-- items, in id order, so that the holds due on a batch's items are found among the due holds alone, without
-- reading their lines.
create table reservations (
    id              uuid        primary key,
    idempotency_key text        not null unique,
    user_id         uuid        not null,
    item_ids        uuid[]      not null check (cardinality(item_ids) >= 1),
    placed_at       timestamptz not null,
    expires_at      timestamptz not null,
    status          text        not null default 'held' check (status in ('held', 'confirmed', 'released', 'expired')),
    ended_at        timestamptz,
    ended_by        text,
    order_id        uuid,
    end_stocks      integer[],
    expiry_sent_at  timestamptz,
    announced_by    text,
    check ((status = 'held') = (ended_at is null) and (status = 'held') = (end_stocks is null)),
    check ((status = 'confirmed') = (order_id is not null)),
    check ((status in ('confirmed', 'released')) = (ended_by is not null)),
    check (announced_by is null or status = 'expired')
);

-- What the sweep looks for: live holds by when they end, and expiries nobody has announced yet.
create index reservations_due_idx on reservations (expires_at) where status = 'held';
create index reservations_unannounced_idx on reservations (id) where status = 'expired' and announced_by is null;

-- Each line of each hold, live or ended: a single item's hold is its own one line.
create view reservation_lines as
select r.id as reservation_id, 1::smallint as line_no, d.item_id, d.quantity
from reservations r
join purchase_decisions d on d.idempotency_key = r.idempotency_key
where d.item_id is not null
union all
select r.id, l.line_no, l.item_id, l.quantity
from reservations r
join purchase_lines l on l.idempotency_key = r.idempotency_key;

-- Confirmations, releases and extensions, each under its own idempotency key. An expiry has none: it is no
-- one's request.
create table reservation_decisions (
    idempotency_key text        primary key check (length(idempotency_key) between 1 and 200),
    kind            text        not null check (kind in ('confirm', 'release', 'extend')),
    reservation_id  uuid        not null,
    hold_for        interval,
    outcome         text        not null
        check (outcome in ('ORDER_CREATED', 'RESERVATION_RELEASED', 'RESERVATION_EXTENDED', 'REJECTED')),
    error_code      text,
    order_id        uuid,
    expires_at      timestamptz,
    decided_at      timestamptz not null,
    check ((outcome = 'REJECTED') = (error_code is not null)),
    check ((outcome = 'ORDER_CREATED') = (order_id is not null)),
    check ((outcome = 'RESERVATION_EXTENDED') = (expires_at is not null))
);

create index reservation_decisions_reservation_idx on reservation_decisions (reservation_id);

-- The ledger records holds too: 'holds' takes units from stock into held (one row per item and batch, like
-- 'sales'), 'hold_confirmed' sells held units (stock unchanged), 'hold_released' and 'hold_expired' put
-- them back. held_delta is the change of items.held; reservation_ids the holds a row is about.
alter table stock_ledger add column held_delta integer not null default 0;
alter table stock_ledger add column reservation_ids uuid[];
alter table stock_ledger alter column reservation_ids set storage external;
alter table stock_ledger drop constraint stock_ledger_reason_check;
alter table stock_ledger add constraint stock_ledger_reason_check
    check (reason in ('initial', 'sale', 'sales', 'refund', 'restock', 'correction',
                      'holds', 'hold_confirmed', 'hold_released', 'hold_expired'));
alter table stock_ledger drop constraint stock_ledger_check;
alter table stock_ledger add constraint stock_ledger_delta_check
    check (delta <> 0 or reason in ('initial', 'hold_confirmed'));
alter table stock_ledger drop constraint stock_ledger_order_ids_check;
alter table stock_ledger add constraint stock_ledger_order_ids_check
    check ((reason in ('sales', 'hold_confirmed')) = (order_ids is not null) and coalesce(cardinality(order_ids) >= 1, true));
alter table stock_ledger add constraint stock_ledger_reservation_ids_check
    check ((reason in ('holds', 'hold_confirmed', 'hold_released', 'hold_expired')) = (reservation_ids is not null)
           and coalesce(cardinality(reservation_ids) >= 1, true)
           and (reservation_ids is null) = (held_delta = 0));
