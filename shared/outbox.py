"""Transactional outbox: events are rows written in the business transaction.

Nothing else publishes. The relay (shared.relay) moves rows to Kafka afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.db import dump_json
from shared.events.base import Event
from shared.ids import uuid7

NOTIFY_CHANNEL = "ecrm_outbox"
# A NOTIFY payload `floor:<id>`: rows above that id were queued for publishing again.
LOWERED_FLOOR = "floor:"

COLUMNS = "event_id, topic, key, ce_type, subject, occurred_at, data"


def rows_from(document: str, occurred_at: str) -> str:
    """SQL selecting the outbox `COLUMNS` from a JSON document of rows (`row_of`, `raw_row`,
    written with `dump_json`) in parameter `document`, stamped with parameter `occurred_at`:
    one parameter however many rows, far cheaper to encode than one array per column."""
    return f"""
    SELECT event_id, topic, key, ce_type, subject, {occurred_at}::timestamptz, data
    FROM json_to_recordset({document}::text::json)
        AS r(event_id uuid, topic text, key text, ce_type text, subject text, data json)
    """


_INSERT_ROWS = f"INSERT INTO outbox ({COLUMNS}) {rows_from('$1', '$2')}"
# One round trip: the rows and the wake-up call (delivered on commit only).
_INSERT = f"""
WITH added AS ({_INSERT_ROWS} RETURNING 1)
SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM (SELECT count(*) AS n FROM added) a WHERE a.n > 0
"""


def row_of(event: Event) -> dict[str, Any]:
    """The outbox row of an event (for `add_rows`)."""
    return raw_row(type(event), event.key(), event.model_dump(mode="json"), event.ce_subject())


def raw_row(
    event_type: type[Event], key: str, data: dict[str, Any], subject: str | None = None
) -> dict[str, Any]:
    """A row from data already in the event's JSON shape: hot paths skip building the model.
    Their tests hold that data to the model."""
    topic, ce_type = _published_as(event_type)
    return {
        "event_id": uuid7(),  # time-ordered: every inbox index grows at its right edge
        "topic": topic,
        "key": key,
        "ce_type": ce_type,
        "subject": key if subject is None else subject,
        "data": data,
    }


@functools.cache
def _published_as(event_type: type[Event]) -> tuple[str, str]:
    """The topic and CloudEvents type of an event type (asked for once per row)."""
    return event_type.topic(), event_type.ce_type()


async def add(conn: asyncpg.Connection, *events: Event) -> list[uuid.UUID]:
    """Append events to the outbox inside the caller's transaction."""
    return await add_many(conn, events)


async def add_many(conn: asyncpg.Connection, events: Iterable[Event]) -> list[uuid.UUID]:
    return await add_rows(conn, [row_of(e) for e in events])


async def add_rows(
    conn: asyncpg.Connection, rows: list[dict[str, Any]], *, notify: bool = True
) -> list[uuid.UUID]:
    """Append rows (`row_of`, `raw_row`) to the outbox inside the caller's transaction.

    `notify=False` is for the hottest write paths: a NOTIFY holds a global lock while its
    transaction commits (the WAL flush included), so notifying transactions commit one at a
    time. Those callers wake the relay after their commit with `RelayWakeup.poke()` instead."""
    if not rows:
        return []
    assert conn.is_in_transaction(), "outbox writes belong in the business transaction"
    await conn.execute(_INSERT if notify else _INSERT_ROWS, dump_json(rows), datetime.now(UTC))
    return [r["event_id"] for r in rows]


class RelayWakeup:
    """NOTIFY after the commit, outside the business transaction (which then writes no WAL and
    holds the notification lock for an instant), coalesced: while one NOTIFY is in flight,
    later pokes make exactly one more. Every poke is followed by a NOTIFY sent after it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.pool.execute(f"NOTIFY {NOTIFY_CHANNEL}")
            except Exception:  # the relay's poll picks the rows up anyway
                return


# Above the relay's floor (shared.relay_floor): below it every row is published, and the walk
# through the dead index entries of published rows would cost a read per row since the last
# vacuum.
BACKLOG = """
SELECT count(*) FROM outbox
WHERE published_at IS NULL AND id > (SELECT id FROM outbox_floor)
"""


async def backlog(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(BACKLOG)


# The rows queued, and the relay's floor (shared.relay_floor) lowered to just below the first.
_REPLAY = """
WITH queued AS (
    UPDATE outbox SET published_at = NULL
    WHERE published_at IS NOT NULL AND ($1::timestamptz IS NULL OR created_at >= $1)
    RETURNING id)
UPDATE outbox_floor SET id = least(id, (SELECT min(id) - 1 FROM queued)), replays = replays + 1
RETURNING id AS floor, (SELECT count(*) FROM queued) AS queued
"""


async def mark_for_replay(conn: asyncpg.Connection, since: datetime | None = None) -> int:
    """Queue already-published rows for publishing again (consumers dedupe by event id).

    The rows, the lowered floor and the relay's notice of it commit together."""
    async with conn.transaction():
        replay = await conn.fetchrow(_REPLAY, since)
        notice = f"{LOWERED_FLOOR}{replay['floor']}"
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, notice)
    return replay["queued"]


PURGE_BATCH = 10_000

# A batch of rows from the lowest id after $1; of them, those published more than $2 hours ago
# go (found by id: `id IN (SELECT ...)` can be planned as a scan of the table).
_PURGE = """
WITH batch AS (
    SELECT id, published_at FROM outbox WHERE id > $1 ORDER BY id LIMIT $3
), gone AS (
    DELETE FROM outbox WHERE id = ANY(ARRAY(
        SELECT id FROM batch WHERE published_at < now() - make_interval(hours => $2)))
    RETURNING 1
)
SELECT (SELECT count(*) FROM batch) AS read, (SELECT count(*) FROM gone) AS deleted,
       (SELECT max(id) FROM batch) AS last
"""


async def purge_published(conn: asyncpg.Connection, older_than_hours: int) -> int:
    """Delete rows published more than `older_than_hours` ago, oldest first, in batches. Ids
    grow with time, so those rows are the lowest ids: the purge reads up from the first row and
    stops at the batch that holds a row to keep (unpublished, or published since). A row to go
    above that waits for a later purge; the rows kept are never read. (Reading by the age test
    alone, the last batch read every row kept: the whole retained week, every hour.)"""
    deleted, after = 0, 0
    while True:
        read, gone, last = await conn.fetchrow(_PURGE, after, older_than_hours, PURGE_BATCH)
        deleted += gone
        if gone < read or read < PURGE_BATCH:
            return deleted
        after = last
