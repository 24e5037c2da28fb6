-- Carts: a purchase request may name several items, decided all or nothing (decide_purchases,
-- R__purchase.sql), and an order may have several lines, each refundable on its own (decide_refunds,
-- R__refund.sql).
--
-- A single-item request is stored as before, in purchase_decisions alone. A cart's decision is one
-- purchase_decisions row with no item (item_id null), its total units as quantity, and lines_digest, the
-- fingerprint of its lines that a redelivery is compared by; and one purchase_lines row per item of the
-- cart. A refund's lines, one per order line it put stock back on, are in refund_lines.

alter table purchase_decisions alter column item_id drop not null;
alter table purchase_decisions add column lines_digest text;
alter table purchase_decisions add constraint purchase_decisions_cart_check
    check ((item_id is null) = (lines_digest is not null));

-- One row per item of a cart, lines naming the same item summed, numbered in the order the items first
-- appear. stock: the item's stock after the cart for an order, the stock that was available when the
-- cart was out of stock; error_code: why this line made the cart rejected. An order's line carries the
-- order id and how much of it was refunded. A cart rejected for having no lines or too many has no rows.
create table purchase_lines (
    idempotency_key   text     not null,
    line_no           smallint not null check (line_no between 1 and 50),
    item_id           uuid     not null,
    quantity          integer  not null,
    stock             integer,
    error_code        text,
    order_id          uuid,
    refunded_quantity integer,
    primary key (idempotency_key, line_no),
    check ((order_id is null) = (refunded_quantity is null)),
    check (order_id is null or (quantity > 0 and stock >= 0 and error_code is null)),
    check (refunded_quantity >= 0 and refunded_quantity <= quantity)
);

create unique index purchase_lines_order_item_key on purchase_lines (order_id, item_id) where order_id is not null;

-- Every line of every order: a single-item order is its own one line; a cart's are in purchase_lines.
-- Refunds update refunded_quantity, of the line and of its order.
create view order_lines as
select d.order_id, 1::smallint as line_no, d.item_id, d.quantity, d.refunded_quantity
from purchase_decisions d
where d.order_id is not null and d.item_id is not null
union all
select l.order_id, l.line_no, l.item_id, l.quantity, l.refunded_quantity
from purchase_lines l
where l.order_id is not null;

-- A refund of several lines of a cart has no single item nor stock after it: its lines have them.
alter table refund_decisions drop constraint refund_decisions_check;
alter table refund_decisions add constraint refund_decisions_refunded_check
    check ((outcome = 'ORDER_REFUNDED') = (quantity is not null));
alter table refund_decisions add column requested_item uuid;

-- Each order line a refund put stock back on, with the item's stock after it. Every refund decided
-- before carts refunded its order's one item.
create table refund_lines (
    refund_key text    not null,
    item_id    uuid    not null,
    order_id   uuid    not null,
    quantity   integer not null check (quantity > 0),
    stock      integer not null,
    primary key (refund_key, item_id)
);

insert into refund_lines (refund_key, item_id, order_id, quantity, stock)
select d.idempotency_key, d.item_id, d.order_id, d.quantity, d.stock
from refund_decisions d
where d.outcome = 'ORDER_REFUNDED';

create index refund_lines_order_item_idx on refund_lines (order_id, item_id);
