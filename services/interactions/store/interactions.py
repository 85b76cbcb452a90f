"""Web-channel calls: one multi-row insert per request, deduplicated on messageId."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg

from services.interactions.tracking_domain import TrackedCall
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


async def insert_new(
    conn: asyncpg.Connection,
    calls: list[TrackedCall],
    customers: dict[uuid.UUID, uuid.UUID | None],
) -> set[uuid.UUID]:
    """Insert the calls (one JSON document); returns the ids of those not seen before (by
    messageId)."""
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
    return {r["id"] for r in await conn.fetch(_INSERT, dump_json(rows))}


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
