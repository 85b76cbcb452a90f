"""Interactions' part of the privacy lifecycle: erase, export, remember a merge, undo it, purge.

What interactions holds about a person: raw tracking rows (traits, properties, context), the
timeline (which quotes other services' events), orders (address, loyalty id), the identity
projection (anonymous ids, user ids, addresses, loyalty ids) and the metrics.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.interactions.store.identities import rewriting_attribution
from services.interactions.store.metrics import forget_counts
from services.interactions.timeline_domain import INTERACTION_REF, order_ref
from shared.ids import uuid7_floor
from shared.privacy import (
    cap_section,
    email_hash,
    identity_hash,
    jsonable,
    remember_erased,
    remember_moves,
    scrub_outbox,
    take_moves,
)

EXPORT_ROWS = 5000  # per list; the section is capped to one message besides (see cap_section)


def _either_attribution(column: str, values: str) -> str:
    """`column = ANY(values)` as two branches, the rows waiting for their customer and the
    attributed ones, so that each has its partial index (migration 0008): an erasure holds the
    attribution lock, which every tracking request waits for, and must not scan a table."""
    match = f"{column} = ANY({values}::text[])"
    return f"(customer_id IS NULL AND {match}) OR (customer_id IS NOT NULL AND {match})"


# The person's raw calls: attributed to them, or carrying one of their visitor or user ids.
_RAW_CALLS_OF_PERSON = (
    f"(customer_id = ANY($1::uuid[]) OR {_either_attribution('anonymous_id', '$2')}"
    f" OR {_either_attribution('user_id', '$3')})"
)
# The timeline entries of those calls go with them (by ref: an entry of a call names the call);
# the person's other entries by customer, their orders' by ref.
_ERASE_CALLS_AND_ENTRIES = f"""
WITH gone AS (DELETE FROM interactions WHERE {_RAW_CALLS_OF_PERSON} RETURNING id)
DELETE FROM timeline WHERE customer_id = ANY($1::uuid[])
    OR ref = ANY(ARRAY(SELECT '{INTERACTION_REF}' || id FROM gone) || $4::text[])
"""
_ORDERS_OF_PERSON = (
    "SELECT id, email FROM orders WHERE customer_id = ANY($1::uuid[])"
    f" OR {_either_attribution('email', '$2')} OR {_either_attribution('loyalty_id', '$3')}"
)


@dataclass
class Known:
    """What interactions knows identifies the person."""

    ids: list[uuid.UUID]
    links: list[tuple[str, str]]
    orders: list[uuid.UUID]
    emails: set[str]

    def values(self, kind: str) -> list[str]:
        return [v for k, v in self.links if k == kind]


async def known(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> Known:
    links = await conn.fetch(
        "SELECT kind, value FROM identity_links WHERE customer_id = ANY($1::uuid[])", ids
    )
    pairs = [(r["kind"], r["value"]) for r in links]
    emails = {v for k, v in pairs if k == "email"}
    loyalty = [v for k, v in pairs if k == "loyalty_id"]
    orders = await conn.fetch(_ORDERS_OF_PERSON, ids, sorted(emails), loyalty)
    emails |= {r["email"] for r in orders if r["email"]}
    return Known(ids, pairs, [r["id"] for r in orders], emails)


async def erase(
    conn: asyncpg.Connection, customer_id: str, ids: list[uuid.UUID], hashes: list[str]
) -> None:
    # The outbox scrub reads the whole retained outbox (days of events): it runs before the
    # attribution lock, which every tracking request waits for. What a request writes meanwhile
    # is as if it had come just after the erasure (consumers drop it: see README, Privacy).
    await scrub_outbox(conn, _mentions(ids, await known(conn, ids)))
    await rewriting_attribution(conn)
    person = await known(conn, ids)  # again: an order may have come meanwhile
    anonymous, users = person.values("anonymous_id"), person.values("user_id")
    refs = [order_ref(str(o)) for o in person.orders]
    await conn.execute(_ERASE_CALLS_AND_ENTRIES, ids, anonymous, users, refs)
    await conn.execute(  # the sale stays (revenue figures); who bought it goes
        "UPDATE orders SET customer_id = NULL, email = NULL, loyalty_id = NULL"
        " WHERE id = ANY($1::uuid[])",
        person.orders,
    )
    for table in ("identity_links", "customer_metrics", "attribution_followups"):
        await conn.execute(f"DELETE FROM {table} WHERE customer_id = ANY($1::uuid[])", ids)
    await forget_counts(conn, ids)
    await conn.execute(
        "INSERT INTO deleted_customers (customer_id) SELECT unnest($1::uuid[])"
        " ON CONFLICT DO NOTHING",
        ids,
    )
    await conn.execute(
        "DELETE FROM merge_moves WHERE merged_id = ANY($1::uuid[]) OR survivor_id = ANY($1)", ids
    )
    known_hashes = {email_hash(e) for e in person.emails}
    known_hashes |= {identity_hash(v) for k, v in person.links if k != "email"}
    await remember_erased(conn, customer_id, [str(i) for i in ids], {*hashes, *known_hashes})


def _mentions(ids: list[uuid.UUID], person: Known) -> set[str]:
    """The values whose outbox rows an erasure deletes."""
    values = {str(i) for i in ids} | {v for _, v in person.links} | person.emails
    return values | {str(o) for o in person.orders}


async def section(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[str, Any]:
    person = await known(conn, ids)
    anonymous, users = person.values("anonymous_id"), person.values("user_id")
    raw = await conn.fetch(
        "SELECT id, message_id, kind, channel, name, anonymous_id, user_id, customer_id,"
        " group_id, previous_id, properties, traits, context, occurred_at, received_at"
        f" FROM interactions WHERE {_RAW_CALLS_OF_PERSON} ORDER BY occurred_at DESC LIMIT $4",
        ids, anonymous, users, EXPORT_ROWS,
    )  # fmt: skip
    orders = await conn.fetch(
        "SELECT id, store_id, order_id, customer_id, email, loyalty_id, channel, currency,"
        " subtotal, tax, shipping, discount, total, lines, placed_at FROM orders"
        " WHERE id = ANY($1::uuid[]) ORDER BY placed_at DESC",
        person.orders,
    )
    timeline = await conn.fetch(
        "SELECT id, type, channel, summary, source, occurred_at, data FROM timeline"
        " WHERE customer_id = ANY($1::uuid[]) ORDER BY occurred_at DESC LIMIT $2",
        ids, EXPORT_ROWS,
    )  # fmt: skip
    metrics = await conn.fetch(
        "SELECT * FROM customer_metrics WHERE customer_id = ANY($1::uuid[])", ids
    )
    return cap_section({
        "identities": [{"kind": k, "value": v} for k, v in person.links],
        "metrics": jsonable(metrics),
        "orders": jsonable(orders),
        "timeline": jsonable(timeline),
        "tracking": jsonable(raw),
    })  # fmt: skip


MOVED = {  # what a merge moves, by kind: the rows of the merged customer
    "timeline": "SELECT id::text FROM timeline WHERE customer_id = $1",
    "interaction": "SELECT id::text FROM interactions WHERE customer_id = $1",
    "order": "SELECT id::text FROM orders WHERE customer_id = $1",
    "chain": "SELECT merged_id::text FROM merged_customers WHERE survivor_id = $1",
}
MOVE_BACK = {
    "timeline": "UPDATE timeline SET customer_id = $3 WHERE id = ANY($1::uuid[])"
    " AND customer_id = $2",
    "interaction": "UPDATE interactions SET customer_id = $3 WHERE id = ANY($1::uuid[])"
    " AND customer_id = $2",
    "order": "UPDATE orders SET customer_id = $3 WHERE id = ANY($1::uuid[]) AND customer_id = $2",
    "chain": "UPDATE merged_customers SET survivor_id = $3 WHERE merged_id = ANY($1::uuid[])"
    " AND survivor_id = $2",
}


async def remember_merge(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID) -> None:
    """Call before the merge is folded: what belongs to the merged customer now."""
    for kind, query in MOVED.items():
        items = [r[0] for r in await conn.fetch(query, merged)]
        await remember_moves(conn, merged, survivor, kind, items)


async def unmerge(
    conn: asyncpg.Connection,
    survivor: uuid.UUID,
    restored: uuid.UUID,
    identities: list[dict[str, str]],
) -> None:
    """Move back what the merge moved, and what arrived since for the restored identities."""
    await conn.execute("DELETE FROM merged_customers WHERE merged_id = $1", restored)
    for kind, statement in MOVE_BACK.items():
        items = await take_moves(conn, restored, survivor, kind)
        await conn.execute(statement, items, survivor, restored)
    pairs = [(i["kind"], i["value"]) for i in identities]
    for kind, value in pairs:
        await conn.execute(
            "INSERT INTO identity_links (kind, value, customer_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (kind, value) DO UPDATE SET customer_id = $3, linked_at = now()",
            kind, value, restored,
        )  # fmt: skip
    await _follow_identities(conn, survivor, restored, pairs)


async def _follow_identities(
    conn: asyncpg.Connection, survivor: uuid.UUID, restored: uuid.UUID, pairs: list
) -> None:
    visitors = [v for k, v in pairs if k in ("anonymous_id", "user_id")]
    for table in ("timeline", "interactions"):
        await conn.execute(
            f"UPDATE {table} SET customer_id = $2 WHERE customer_id = $1"
            " AND (anonymous_id = ANY($3::text[]) OR user_id = ANY($3::text[]))",
            survivor, restored, visitors,
        )  # fmt: skip
    buyers = [v for k, v in pairs if k in ("email", "loyalty_id")]
    orders = await conn.fetch(
        "UPDATE orders SET customer_id = $2 WHERE customer_id = $1"
        " AND (email = ANY($3::text[]) OR loyalty_id = ANY($3::text[])) RETURNING id",
        survivor, restored, buyers,
    )  # fmt: skip
    await conn.execute(
        "UPDATE timeline SET customer_id = $2 WHERE customer_id = $1 AND ref = ANY($3::text[])",
        survivor, restored, [order_ref(str(r["id"])) for r in orders],
    )  # fmt: skip


PURGE_BATCH = 10_000


async def purge_raw(conn: asyncpg.Connection, older_than_days: int) -> int:
    """Retention: raw tracking rows received more than `older_than_days` ago. A row's id is a
    uuid7 made when its call was received, so the rows to go are the lowest ids: read through
    the primary key a batch at a time from where the last batch ended (a scan of the table for
    `received_at` read 13 months of calls every hour)."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    purged, after, below = 0, uuid.UUID(int=0), uuid7_floor(cutoff)
    while True:
        last, count = await conn.fetchrow(_PURGE_RAW, after, below, cutoff, PURGE_BATCH)
        purged += count
        if last is None:
            return purged
        after = last


# the batch of ids after $1 and below $2; of them, those received before $3 go (found by id:
# `id IN (SELECT ...)` was planned as a scan of the table joined to the batch)
_PURGE_RAW = """
WITH batch AS (
    SELECT id FROM interactions WHERE id > $1 AND id < $2 ORDER BY id LIMIT $4
), gone AS (
    DELETE FROM interactions WHERE id = ANY(ARRAY(SELECT id FROM batch)) AND received_at < $3
    RETURNING 1
)
SELECT (SELECT id FROM batch ORDER BY id DESC LIMIT 1) AS last, (SELECT count(*) FROM gone) AS count
"""
