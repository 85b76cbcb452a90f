"""Transactional outbox: events are rows written in the business transaction.

Nothing else publishes. The relay (shared.relay) moves rows to Kafka afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg

from shared.events.base import Event

NOTIFY_CHANNEL = "ecrm_outbox"

_INSERT = """
INSERT INTO outbox (event_id, topic, key, ce_type, subject, occurred_at, data)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::timestamptz[], $7::jsonb[])
"""


async def add(conn: asyncpg.Connection, *events: Event) -> list[uuid.UUID]:
    """Append events to the outbox inside the caller's transaction."""
    return await add_many(conn, events)


async def add_many(conn: asyncpg.Connection, events: Iterable[Event]) -> list[uuid.UUID]:
    events = list(events)
    if not events:
        return []
    assert conn.is_in_transaction(), "outbox writes belong in the business transaction"
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in events]
    await conn.execute(
        _INSERT,
        ids,
        [e.topic() for e in events],
        [e.key() for e in events],
        [e.ce_type() for e in events],
        [e.ce_subject() for e in events],
        [now] * len(events),
        [e.model_dump(mode="json") for e in events],
    )
    # Delivered on commit only, so the relay wakes exactly when there is something to send.
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return ids


async def backlog(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")


async def mark_for_replay(conn: asyncpg.Connection, since: datetime | None = None) -> int:
    """Queue already-published rows for publishing again (consumers dedupe by event id)."""
    status = await conn.execute(
        "UPDATE outbox SET published_at = NULL"
        " WHERE published_at IS NOT NULL AND ($1::timestamptz IS NULL OR created_at >= $1)",
        since,
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return int(status.split()[-1])


async def purge_published(conn: asyncpg.Connection, older_than_hours: int) -> int:
    status = await conn.execute(
        "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)",
        older_than_hours,
    )
    return int(status.split()[-1])
