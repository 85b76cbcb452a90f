"""Web-channel calls: one multi-row insert per request, deduplicated on messageId."""

from __future__ import annotations

import uuid

import asyncpg
import orjson

from services.interactions.tracking_domain import TrackedCall

_INSERT = """
INSERT INTO interactions (id, message_id, kind, channel, name, anonymous_id, user_id, customer_id,
                          group_id, previous_id, properties, traits, context, occurred_at,
                          sent_at, received_at)
SELECT id, message_id, kind, channel, name, anonymous_id, user_id, customer_id, group_id,
       previous_id, properties::jsonb, traits::jsonb, context::jsonb, occurred_at, sent_at,
       received_at
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
            $14::timestamptz[], $15::timestamptz[], $16::timestamptz[])
     AS c(id, message_id, kind, channel, name, anonymous_id, user_id, customer_id, group_id,
          previous_id, properties, traits, context, occurred_at, sent_at, received_at)
ON CONFLICT (message_id) DO NOTHING
RETURNING id
"""


async def insert_new(
    conn: asyncpg.Connection,
    calls: list[TrackedCall],
    customers: dict[uuid.UUID, uuid.UUID | None],
) -> set[uuid.UUID]:
    """Insert the calls; returns the ids of those not seen before (by messageId)."""
    if not calls:
        return set()
    columns = (
        [c.interaction_id for c in calls],
        [c.message_id for c in calls],
        [c.kind for c in calls],
        [c.channel for c in calls],
        [c.name for c in calls],
        [c.anonymous_id for c in calls],
        [c.user_id for c in calls],
        [customers.get(c.interaction_id) for c in calls],
        [c.group_id for c in calls],
        [c.previous_id for c in calls],
        [_json(c.properties) for c in calls],
        [_json(c.traits) for c in calls],
        [_json(c.context) for c in calls],
        [c.occurred_at for c in calls],
        [c.sent_at for c in calls],
        [c.received_at for c in calls],
    )
    rows = await conn.fetch(_INSERT, *columns)
    return {r["id"] for r in rows}


async def attach(conn: asyncpg.Connection, kind: str, value: str, customer_id: uuid.UUID) -> None:
    """Stitch: the anonymous (or user-id) calls seen before now belong to the customer."""
    column = {"anonymous_id": "anonymous_id", "user_id": "user_id"}[kind]
    await conn.execute(
        f"UPDATE interactions SET customer_id = $2 WHERE customer_id IS NULL AND {column} = $1",
        value,
        customer_id,
    )


def _json(value: dict) -> str:
    return orjson.dumps(value).decode()
