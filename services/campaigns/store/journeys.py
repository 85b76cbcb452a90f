"""Journeys: event-triggered mails. A trigger makes at most one message per journey (unique
(journey_id, trigger_event_id)), on top of the inbox's event dedupe."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.db import dump_json
from shared.errors import not_found
from shared.ids import uuid7

_TRIGGER = """
INSERT INTO messages (id, journey_id, trigger_event_id, customer_id, context, send_after)
SELECT gen_random_uuid(), j.id, e.event_id, e.customer_id, e.context::jsonb,
       now() + make_interval(secs => j.delay_seconds)
FROM journeys j, unnest($1::uuid[], $2::uuid[], $4::text[]) AS e(event_id, customer_id, context)
WHERE j.enabled AND j.trigger = $3
ON CONFLICT DO NOTHING
"""


def public(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "trigger": row["trigger"],
        "delay_seconds": row["delay_seconds"],
        "condition": row["condition"],
        "subject": row["subject"],
        "html": row["html"],
        "from": row["from_address"],
        "transactional": row["transactional"],
        "enabled": row["enabled"],
        "created_at": row["created_at"].isoformat(),
    }


async def create(conn: asyncpg.Connection, fields: dict[str, Any]) -> dict[str, Any]:
    row = await conn.fetchrow(
        "INSERT INTO journeys (id, name, trigger, delay_seconds, condition, subject, html,"
        " from_address, transactional, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " RETURNING *",
        uuid7(),
        fields["name"],
        fields["trigger"],
        fields["delay_seconds"],
        fields["condition"],
        fields["subject"],
        fields["html"],
        fields["from_address"],
        fields["transactional"],
        fields["enabled"],
    )
    return public(row)


async def fetch(conn: asyncpg.Connection, journey_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM journeys WHERE id = $1", journey_id)
    if row is None:
        raise not_found("journey", journey_id)
    return row


async def update(
    conn: asyncpg.Connection, journey_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    await fetch(conn, journey_id)
    row = await conn.fetchrow(
        "UPDATE journeys SET name = COALESCE($2, name), enabled = COALESCE($3, enabled),"
        " delay_seconds = COALESCE($4, delay_seconds) WHERE id = $1 RETURNING *",
        journey_id,
        changes.get("name"),
        changes.get("enabled"),
        changes.get("delay_seconds"),
    )
    return public(row)


async def list_page(
    conn: asyncpg.Connection, after: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM journeys WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        after,
        limit + 1,
    )
    return [public(r) for r in rows]


async def trigger(
    conn: asyncpg.Connection,
    trigger_name: str,
    event_id: str,
    customer_id: str,
    context: dict[str, Any],
) -> int:
    return await trigger_each(conn, trigger_name, [(event_id, customer_id)], [context])


async def trigger_each(
    conn: asyncpg.Connection,
    trigger_name: str,
    events: list[tuple[str, str]],
    contexts: list[dict[str, Any]] | None = None,
) -> int:
    """`trigger` for each (event id, customer id), with its context (none given: `{}`), in one
    statement (a create's CustomerCreated comes to this once, with or without a journey to
    start). Returns how many messages were made."""
    status = await conn.execute(
        _TRIGGER,
        [uuid.UUID(eid) for eid, _ in events],
        [uuid.UUID(cid) for _, cid in events],
        trigger_name,
        [dump_json(c) for c in contexts] if contexts is not None else ["{}"] * len(events),
    )
    return int(status.split()[-1])
