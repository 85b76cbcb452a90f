"""Web-channel calls: one multi-row insert per request, deduplicated on messageId."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.interactions.tracking_domain import TrackedCall
from shared import outbox
from shared.db import dump_json

_INSERT = """
INSERT INTO interactions (id, message_id, kind, channel, name, anonymous_id, user_id, customer_id,
                          group_id, previous_id, properties, traits, context, occurred_at,
                          sent_at, received_at)
SELECT id, message_id, kind, channel, name, anonymous_id, user_id, customer_id, group_id,
       previous_id, properties, traits, context, occurred_at, sent_at, received_at
FROM json_to_recordset($1::text::json)
     AS c(id uuid, message_id text, kind text, channel text, name text, anonymous_id text,
          user_id text, customer_id uuid, group_id text, previous_id text, properties json,
          traits json, context json, occurred_at timestamptz, sent_at timestamptz,
          received_at timestamptz)
ON CONFLICT (message_id) DO NOTHING
RETURNING id
"""


# The calls and the events of the new ones in one round trip (the hottest path).
_INSERT_WITH_EVENTS = f"""
WITH new AS ({_INSERT}), events AS ({outbox.insert_rows_of("$2", "$3", "SELECT id FROM new")})
SELECT id FROM new
"""


async def insert_new(
    conn: asyncpg.Connection,
    calls: list[TrackedCall],
    customers: dict[uuid.UUID, uuid.UUID | None],
    events: list[dict[str, Any]] | None = None,
) -> set[uuid.UUID]:
    """Insert the calls (one JSON document); returns the ids of those not seen before (by
    messageId). `events`: outbox rows (`outbox.raw_row`), each naming its call's id in `source`;
    those of the new calls are added in the same statement, in their order (the caller's
    transaction wakes the relay, as `outbox.add_rows(notify=False)`)."""
    if not calls:
        return set()
    rows = [
        {
            "id": c.interaction_id,
            "message_id": c.message_id,
            "kind": c.kind,
            "channel": c.channel,
            "name": c.name,
            "anonymous_id": c.anonymous_id,
            "user_id": c.user_id,
            "customer_id": customers.get(c.interaction_id),
            "group_id": c.group_id,
            "previous_id": c.previous_id,
            "properties": c.properties,
            "traits": c.traits,
            "context": c.context,
            "occurred_at": c.occurred_at,
            "sent_at": c.sent_at,
            "received_at": c.received_at,
        }
        for c in calls
    ]
    if not events:
        return {r["id"] for r in await conn.fetch(_INSERT, dump_json(rows))}
    added = await conn.fetch(
        _INSERT_WITH_EVENTS, dump_json(rows), dump_json(events), datetime.now(UTC)
    )
    return {r["id"] for r in added}


ATTACH_CHUNK = 1000  # rows a stitch attributes (and reads back) at a time

_ATTACH = """
UPDATE interactions SET customer_id = $2
WHERE id IN (SELECT id FROM interactions WHERE customer_id IS NULL AND {column} = $1 LIMIT $3)
RETURNING *
"""


async def attach(
    conn: asyncpg.Connection, kind: str, value: str, customer_id: uuid.UUID
) -> AsyncIterator[list[asyncpg.Record]]:
    """Stitch: the anonymous (or user-id) calls seen before now belong to the customer. Yields
    their rows as attributed, `ATTACH_CHUNK` at a time (a visitor can have a long history)."""
    statement = _ATTACH.format(column={"anonymous_id": "anonymous_id", "user_id": "user_id"}[kind])
    while True:
        rows = await conn.fetch(statement, value, customer_id, ATTACH_CHUNK)
        if rows:
            yield rows
        if len(rows) < ATTACH_CHUNK:
            return
