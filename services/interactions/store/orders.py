"""Orders: insert once per (store_id, order_id); attach to the customer once known."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.interactions.orders_domain import OrderIn

COLUMNS = (
    "id, store_id, order_id, customer_id, email, loyalty_id, channel, currency, subtotal, tax,"
    " shipping, discount, total, lines, placed_at, fingerprint, created_at"
)


async def insert(
    conn: asyncpg.Connection,
    order: OrderIn,
    customer_id: uuid.UUID | None,
    print_: str,
    order_uuid: uuid.UUID,
) -> asyncpg.Record | None:
    """The new row, or None when (store_id, order_id) exists already."""
    return await conn.fetchrow(
        f"INSERT INTO orders ({COLUMNS.removesuffix(', created_at')})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        f" ON CONFLICT (store_id, order_id) DO NOTHING RETURNING {COLUMNS}",
        order_uuid,
        order.store_id,
        order.order_id,
        customer_id,
        order.email,
        order.loyalty_id,
        order.channel,
        order.currency,
        order.subtotal,
        order.tax,
        order.shipping,
        order.discount,
        order.total,
        [line.model_dump(mode="json") for line in order.lines],
        order.placed_at,
        print_,
    )


async def by_store_order(
    conn: asyncpg.Connection, store_id: str, order_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM orders WHERE store_id = $1 AND order_id = $2", store_id, order_id
    )


async def by_id(conn: asyncpg.Connection, order_uuid: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM orders WHERE id = $1", order_uuid)


async def listing(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID | None,
    store_id: str | None,
    after: list[Any] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Newest first by placed time; `after` = [placed_at iso, id] of the last row seen."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM orders"
        " WHERE ($1::uuid IS NULL OR customer_id = $1) AND ($2::text IS NULL OR store_id = $2)"
        "   AND ($3::timestamptz IS NULL OR (placed_at, id) < ($3, $4::uuid))"
        " ORDER BY placed_at DESC, id DESC LIMIT $5",
        customer_id,
        store_id,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )


async def attach(
    conn: asyncpg.Connection, kind: str, value: str, customer_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Orders placed under this email or loyalty id, waiting for their customer."""
    column = {"email": "email", "loyalty_id": "loyalty_id"}[kind]
    return await conn.fetch(
        f"UPDATE orders SET customer_id = $2 WHERE customer_id IS NULL AND {column} = $1"
        " RETURNING id, store_id, order_id",
        value,
        customer_id,
    )


def public(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out.pop("fingerprint", None)
    for key in ("id", "customer_id"):
        out[key] = None if out[key] is None else str(out[key])
    for key in ("subtotal", "tax", "shipping", "discount", "total"):
        out[key] = None if out[key] is None else float(out[key])
    return out
