"""What analytics holds about a person: the customer id on campaign message rows and on an
unsubscribe waiting for its message (kept to attribute unsubscribes). Everything else is
aggregated and anonymous."""

from __future__ import annotations

from typing import Any

import asyncpg


async def erase(conn: asyncpg.Connection, customer_id: str) -> int:
    await conn.execute("DELETE FROM pending_unsubscribes WHERE customer_id = $1", customer_id)
    status = await conn.execute(
        "UPDATE campaign_messages SET customer_id = NULL WHERE customer_id = $1", customer_id
    )
    return int(status.split()[-1])


async def export(conn: asyncpg.Connection, customer_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT message_id, campaign_id, journey_id, sent_at, opened_at, clicked_at,"
        " unsubscribed_at, bounced_at FROM campaign_messages WHERE customer_id = $1"
        " ORDER BY sent_at NULLS LAST, message_id",
        customer_id,
    )
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()}
        for r in rows
    ]


async def merge(conn: asyncpg.Connection, survivor_id: str, merged_id: str) -> None:
    await conn.execute(
        "WITH moved AS (DELETE FROM pending_unsubscribes WHERE customer_id = $2 RETURNING at)"
        " INSERT INTO pending_unsubscribes (customer_id, at) SELECT $1, at FROM moved"
        " ON CONFLICT (customer_id) DO UPDATE"
        " SET at = LEAST(pending_unsubscribes.at, EXCLUDED.at)",
        survivor_id,
        merged_id,
    )
    await conn.execute(
        "UPDATE campaign_messages SET customer_id = $1 WHERE customer_id = $2",
        survivor_id,
        merged_id,
    )
