"""What analytics holds about a person: the customer id on campaign message rows and on an
unsubscribe waiting for its message (kept to attribute unsubscribes). Everything else is
aggregated and anonymous: erasure clears those ids (the counts stay), and records the erased ids
and hashes so the platform's guard drops the person's late events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.privacy import remember_erased, remember_moves, scrub_outbox, take_moves


async def erase(
    conn: asyncpg.Connection, customer_id: str, ids: list[uuid.UUID], hashes: list[str]
) -> int:
    plain = [str(i) for i in ids]
    await conn.execute("DELETE FROM pending_unsubscribes WHERE customer_id = ANY($1)", plain)
    status = await conn.execute(
        "UPDATE campaign_messages SET customer_id = NULL WHERE customer_id = ANY($1)", plain
    )
    await conn.execute(
        "DELETE FROM merge_moves WHERE merged_id = ANY($1::uuid[]) OR survivor_id = ANY($1)", ids
    )
    await remember_erased(conn, customer_id, plain, hashes)
    await scrub_outbox(conn, plain)
    return int(status.split()[-1])


async def export(conn: asyncpg.Connection, customer_ids: list[str]) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT message_id, campaign_id, journey_id, sent_at, opened_at, clicked_at,"
        " unsubscribed_at, bounced_at FROM campaign_messages WHERE customer_id = ANY($1)"
        " ORDER BY sent_at NULLS LAST, message_id",
        customer_ids,
    )
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()}
        for r in rows
    ]


async def merge(conn: asyncpg.Connection, survivor_id: str, merged_id: str) -> None:
    moved = await conn.fetch(
        "UPDATE campaign_messages SET customer_id = $1 WHERE customer_id = $2 RETURNING message_id",
        survivor_id,
        merged_id,
    )
    await remember_moves(
        conn, uuid.UUID(merged_id), uuid.UUID(survivor_id), "message",
        [r["message_id"] for r in moved],
    )  # fmt: skip
    await conn.execute(
        "WITH moved AS (DELETE FROM pending_unsubscribes WHERE customer_id = $2 RETURNING at)"
        " INSERT INTO pending_unsubscribes (customer_id, at) SELECT $1, at FROM moved"
        " ON CONFLICT (customer_id) DO UPDATE"
        " SET at = LEAST(pending_unsubscribes.at, EXCLUDED.at)",
        survivor_id,
        merged_id,
    )


async def unmerge(conn: asyncpg.Connection, survivor_id: str, restored_id: str) -> None:
    """The message rows the merge moved go back to the restored customer."""
    moved = await take_moves(conn, uuid.UUID(restored_id), uuid.UUID(survivor_id), "message")
    await conn.execute(
        "UPDATE campaign_messages SET customer_id = $2 WHERE customer_id = $1"
        " AND message_id = ANY($3::text[])",
        survivor_id,
        restored_id,
        moved,
    )
