"""Web-channel calls: one multi-row insert per request, deduplicated on messageId."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg

from services.interactions.tracking_domain import TrackedCall
from shared import outbox
from shared.db import dump_json, utc_text
from shared.events.interactions import InteractionRecorded, VisitorInteractionRecorded
from shared.ids import uuid7s

_CALL_COLUMNS = """id, message_id, kind, channel, name, anonymous_id, user_id, customer_id,
    group_id, previous_id, properties, traits, context, occurred_at, sent_at, received_at"""
_CALL_TYPES = """id uuid, message_id text, kind text, channel text, name text, anonymous_id text,
    user_id text, customer_id uuid, group_id text, previous_id text, properties json, traits json,
    context json, occurred_at timestamptz, sent_at timestamptz, received_at timestamptz"""


def _insert_from(calls: str) -> str:
    """SQL storing the calls of FROM-clause `calls` (alias `c`) not seen before (by messageId);
    it returns their ids."""
    return f"""
    INSERT INTO interactions ({_CALL_COLUMNS}) SELECT {_CALL_COLUMNS} FROM {calls}
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id
    """


_INSERT = _insert_from(f"json_to_recordset($1::text::json) AS c({_CALL_TYPES})")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _by_customer(known: str, visitor: str) -> str:
    """SQL choosing, for a call, the value of a known customer's touch (InteractionRecorded)
    or of a visitor's (VisitorInteractionRecorded: no customer linked)."""
    return f"CASE WHEN c.customer_id IS NULL THEN {_literal(visitor)} ELSE {_literal(known)} END"


_TOPIC = _by_customer(InteractionRecorded.topic(), VisitorInteractionRecorded.topic())
_CE_TYPE = _by_customer(InteractionRecorded.ce_type(), VisitorInteractionRecorded.ce_type())

# The calls and the events of the new ones in one round trip (the hottest path). Each event's
# data is built here from the call's own fields (`d`: InteractionRecorded's fields, in its
# order; row_to_json writes them as compact as orjson), so a request sends its calls once
# instead of a second document of events. `path` and `event_id` ride in the document without
# being stored. A test holds every event to `tracking_record.recorded_data` and the model.
_INSERT_WITH_EVENTS = f"""
WITH calls AS MATERIALIZED (
    SELECT * FROM ROWS FROM (json_to_recordset($1::text::json)
        AS ({_CALL_TYPES}, path text, event_id uuid)) WITH ORDINALITY
        AS c({_CALL_COLUMNS}, path, event_id, position)
), new AS ({_insert_from("calls c")}), events AS (
    INSERT INTO outbox ({outbox.COLUMNS})
    SELECT c.event_id, {_TOPIC}, k.key, {_CE_TYPE}, k.key, $2::timestamptz, row_to_json(d)
    FROM calls c
    CROSS JOIN LATERAL (
        SELECT coalesce(c.customer_id::text, c.anonymous_id, c.user_id, c.id::text) AS key
    ) k
    CROSS JOIN LATERAL (
        SELECT c.id AS interaction_id, c.message_id, c.customer_id, c.anonymous_id, c.user_id,
               c.channel, c.kind, c.name, c.path, c.properties,
               CASE WHEN c.kind = 'identify' THEN c.traits ELSE '{{}}'::json END AS traits,
               {utc_text("c.occurred_at")} AS occurred_at
    ) d
    WHERE c.id IN (SELECT id FROM new)
    ORDER BY c.position
)
SELECT count(*) FROM new
"""


async def insert_new(
    conn: asyncpg.Connection,
    calls: list[TrackedCall],
    customers: dict[uuid.UUID, uuid.UUID | None],
    *,
    publish: bool = False,
) -> set[uuid.UUID]:
    """Insert the calls (one JSON document); returns the ids of those not seen before (by
    messageId). `publish`: the InteractionRecorded (a visitor's: VisitorInteractionRecorded) of
    each new call is added in the same statement, in the calls' order (the caller's transaction
    wakes the relay, as `outbox.add_rows(notify=False)`); the statement answers how many calls
    were new, and their ids are read back only when some call was seen before."""
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
    if not publish:
        return {r["id"] for r in await conn.fetch(_INSERT, dump_json(rows))}
    for row, call, event_id in zip(rows, calls, uuid7s(len(rows)), strict=True):
        row["path"] = call.path
        row["event_id"] = event_id
    added = await conn.fetchval(_INSERT_WITH_EVENTS, dump_json(rows), datetime.now(UTC))
    ids = [c.interaction_id for c in calls]
    if added == len(calls):  # nearly always: no call was seen before
        return set(ids)
    stored = await conn.fetch("SELECT id FROM interactions WHERE id = ANY($1::uuid[])", ids)
    return {r["id"] for r in stored}


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
