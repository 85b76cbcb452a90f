"""Commerce: one row per order (store, order id), summed per day, channel and currency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.events.interactions import OrderPlaced


async def record_orders(conn: asyncpg.Connection, events: list[OrderPlaced]) -> None:
    """An order seen again (another event for the same store and order id) counts once."""
    rows = sorted(
        (
            e.store_id,
            e.order_id,
            e.channel.strip().lower()[:32] or "unknown",
            e.currency.strip().upper()[:8],
            round(e.total, 2),
            e.placed_at,
        )
        for e in events
    )
    await conn.executemany(
        "INSERT INTO orders (store_id, order_id, channel, currency, total, placed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store_id, order_id) DO NOTHING",
        rows,
    )


async def per_day(conn: asyncpg.Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT (placed_at AT TIME ZONE 'UTC')::date AS day, channel, currency,"
        " count(*) AS orders, sum(total) AS revenue FROM orders"
        " WHERE placed_at >= $1 AND placed_at < $2"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        start,
        end,
    )
    return [dict(r) for r in rows]
