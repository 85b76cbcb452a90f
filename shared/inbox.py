"""Idempotent consumer: an event id is claimed in the same transaction as its effect."""

from __future__ import annotations

import asyncpg


async def claim(conn: asyncpg.Connection, consumer: str, event_id: str) -> bool:
    """True the first time (consumer, event_id) is seen in a committed transaction."""
    assert conn.is_in_transaction(), "claim the event inside the effect's transaction"
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        event_id,
    )
    return row is not None


async def claim_many(conn: asyncpg.Connection, consumer: str, event_ids: list[str]) -> set[str]:
    """Claim a batch at once; returns the ids that were new."""
    assert conn.is_in_transaction(), "claim the events inside the effect's transaction"
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING event_id::text",
        consumer,
        event_ids,
    )
    return {r[0] for r in rows}


async def purge(conn: asyncpg.Connection, older_than_hours: int) -> int:
    status = await conn.execute(
        "DELETE FROM inbox WHERE applied_at < now() - make_interval(hours => $1)", older_than_hours
    )
    return int(status.split()[-1])
