"""The timeline table: batch inserts (once per ref), stitching, merging, reading."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.interactions.store import metrics
from services.interactions.timeline_domain import Entry, is_touch
from shared.db import dump_json

_INSERT = """
WITH e AS (
    SELECT * FROM json_to_recordset($1::text::json)
        AS e(id uuid, ref text, customer_id uuid, anonymous_id text, user_id text, channel text,
             type text, summary text, source text, occurred_at timestamptz, data json)
), known AS (  -- a visitor linked already: the touch goes straight to the customer
    -- Looked up only for an entry without its customer (COALESCE stops at the first value),
    -- by the links' key. As joins, they were planned as hashes of every link of the kind,
    -- for every statement (7 of a request's 12 ms with 5,000 customers: RESULTS.md, run 71).
    SELECT e.*, COALESCE(
        e.customer_id,
        (SELECT l.customer_id FROM identity_links l
         WHERE l.kind = 'user_id' AND l.value = e.user_id),
        (SELECT l.customer_id FROM identity_links l
         WHERE l.kind = 'anonymous_id' AND l.value = e.anonymous_id)
    ) AS cid FROM e
), live AS (  -- a merged customer stands for its survivor
    SELECT known.*, COALESCE(
        (SELECT m.survivor_id FROM merged_customers m WHERE m.merged_id = known.cid), known.cid
    ) AS customer FROM known
)
-- Merged and deleted customers are read by key for each entry, too. As a join and an anti-join
-- they were planned for the 100 rows PostgreSQL assumes of json_to_recordset: hashes of both
-- whole tables, for every statement (an order's one entry: 0.2 ms of CPU with none, 2.4 ms
-- with 10,000 of each; RESULTS.md, "A shop's orders").
INSERT INTO timeline (id, ref, customer_id, anonymous_id, user_id, channel, type, summary, source,
                      occurred_at, data)
SELECT id, ref, customer, anonymous_id, user_id, channel, type, summary, source, occurred_at,
       data
FROM live
WHERE live.customer IS NULL  -- OR keeps the check a per-entry subplan, not an anti-join
   OR NOT EXISTS (SELECT 1 FROM deleted_customers d WHERE d.customer_id = live.customer)
ON CONFLICT (ref) DO NOTHING
RETURNING customer_id, channel, type
"""


# The same, and the figures of the customers with a new touch marked due (`metrics_pending`, which
# the refresher takes) by the statement itself: a request's entries and marks in one round trip.
_INSERT_MARKING = f"""
WITH added AS ({_INSERT})
INSERT INTO metrics_pending (customer_id)
SELECT DISTINCT customer_id FROM added WHERE customer_id IS NOT NULL AND {metrics.TOUCHES}
ORDER BY customer_id
"""


async def add_marking(conn: asyncpg.Connection, entries: list[Entry]) -> None:
    """`add`, and in the same statement the figures of the customers it would return marked due:
    for the requests that write entries in the transaction accepting them."""
    if entries:
        await conn.execute(_INSERT_MARKING, dump_json(entries))


async def add(conn: asyncpg.Connection, entries: list[Entry]) -> set[uuid.UUID]:
    """Insert entries not seen before; returns the customers whose figures they change (those
    with a new touch: record edits and derived events change none)."""
    if not entries:
        return set()
    rows = await conn.fetch(_INSERT, dump_json(entries))  # dataclasses: one JSON document
    return {
        r["customer_id"]
        for r in rows
        if r["customer_id"] is not None and is_touch(r["channel"], r["type"])
    }


async def customers_of(conn: asyncpg.Connection, refs: list[str]) -> set[uuid.UUID]:
    """The customers the entries `refs` belong to (anonymous ones belong to nobody yet)."""
    rows = await conn.fetch(
        "SELECT DISTINCT customer_id FROM timeline"
        " WHERE ref = ANY($1::text[]) AND customer_id IS NOT NULL",
        refs,
    )
    return {r["customer_id"] for r in rows}


async def attach_refs(conn: asyncpg.Connection, refs: list[tuple[str, uuid.UUID]]) -> None:
    """Entries of nobody yet (ref, customer) become the customer's."""
    if not refs:
        return
    await conn.execute(
        "UPDATE timeline t SET customer_id = r.customer_id"
        " FROM unnest($1::text[], $2::uuid[]) AS r(ref, customer_id)"
        " WHERE t.customer_id IS NULL AND t.ref = r.ref",
        [ref for ref, _ in refs],
        [customer for _, customer in refs],
    )


async def fold(conn: asyncpg.Connection, merged_id: uuid.UUID, survivor_id: uuid.UUID) -> None:
    """Everything the merged customer had now belongs to the survivor."""
    await conn.execute(
        "INSERT INTO merged_customers (merged_id, survivor_id) VALUES ($1, $2)"
        " ON CONFLICT (merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id",
        merged_id,
        survivor_id,
    )
    for statement in (
        "UPDATE merged_customers SET survivor_id = $2 WHERE survivor_id = $1",
        "UPDATE timeline SET customer_id = $2 WHERE customer_id = $1",
        "UPDATE interactions SET customer_id = $2 WHERE customer_id = $1",
        "UPDATE orders SET customer_id = $2 WHERE customer_id = $1",
        "UPDATE identity_links SET customer_id = $2 WHERE customer_id = $1",
    ):
        await conn.execute(statement, merged_id, survivor_id)
    await conn.execute("DELETE FROM customer_metrics WHERE customer_id = $1", merged_id)
    await metrics.forget_counts(conn, [merged_id])


async def forget(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    """A deleted customer: the timeline and figures go; late events will not bring them back."""
    await conn.execute(
        "INSERT INTO deleted_customers (customer_id) VALUES ($1) ON CONFLICT DO NOTHING",
        customer_id,
    )
    for statement in (
        "DELETE FROM timeline WHERE customer_id = $1",
        "DELETE FROM customer_metrics WHERE customer_id = $1",
        "DELETE FROM identity_links WHERE customer_id = $1",
    ):
        await conn.execute(statement, customer_id)
    await metrics.forget_counts(conn, [customer_id])


async def read(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID,
    *,
    channels: list[str] | None,
    types: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first; `after` = (occurred_at, id) of the last entry of the previous page."""
    rows = await conn.fetch(
        "SELECT id, type, channel, summary, source, occurred_at, ref, data FROM timeline"
        " WHERE customer_id = $1"
        "   AND ($2::text[] IS NULL OR channel = ANY($2))"
        "   AND ($3::text[] IS NULL OR type = ANY($3))"
        "   AND ($4::timestamptz IS NULL OR occurred_at >= $4)"
        "   AND ($5::timestamptz IS NULL OR occurred_at < $5)"
        "   AND ($6::timestamptz IS NULL OR (occurred_at, id) < ($6, $7::uuid))"
        " ORDER BY occurred_at DESC, id DESC LIMIT $8",
        customer_id,
        channels,
        types,
        since,
        until,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return [{**dict(r), "id": str(r["id"])} for r in rows]
