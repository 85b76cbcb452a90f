"""The audience projection: contacts' snapshots, consent, merges, metrics and named events."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

import asyncpg

from services.campaigns.rules.evaluate import Profile
from shared.db import dump_json
from shared.events.contacts import newest_snapshots

MEMBERSHIP_LOCK = "campaigns:membership"  # shared by event handlers, exclusive for full builds


async def lock_for_events(conn: asyncpg.Connection) -> None:
    """Event handlers hold this shared; a full segment build holds it exclusively, so a build
    never races an incremental update of the same customer."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", MEMBERSHIP_LOCK)


async def lock_for_build(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", MEMBERSHIP_LOCK)


_SNAPSHOTS = """
INSERT INTO audience (customer_id, known, live, email, first_name, last_name, company,
                      phone, tags, attributes, stage, consent, contact_version)
SELECT s.customer_id, true, true, lower(s.email), s.first_name, s.last_name, s.company, s.phone,
       s.tags, s.attributes, s.stage, s.consent, s.version
FROM json_to_recordset($1::text::json) AS s(
    customer_id uuid, email text, first_name text, last_name text, company text, phone text,
    tags text[], attributes jsonb, stage text, consent jsonb, version int)
ON CONFLICT (customer_id) DO UPDATE SET
    known = true, live = audience.merged_into IS NULL AND audience.deleted_at IS NULL,
    email = EXCLUDED.email, first_name = EXCLUDED.first_name,
    last_name = EXCLUDED.last_name, company = EXCLUDED.company, phone = EXCLUDED.phone,
    tags = EXCLUDED.tags, attributes = EXCLUDED.attributes, stage = EXCLUDED.stage,
    consent = EXCLUDED.consent, contact_version = EXCLUDED.contact_version,
    updated_at = now()
WHERE audience.contact_version <= EXCLUDED.contact_version
"""


async def apply_snapshots(
    conn: asyncpg.Connection, snapshots: list[tuple[str, dict[str, Any]]]
) -> None:
    """CustomerCreated / CustomerUpdated snapshots, each on its customer's row; an older version
    never overwrites a newer. One statement (one execution, where a statement per row cost the
    server ~30 µs each): of one customer's snapshots, the newest (the last of equal versions)
    is what applying them in order would have kept."""
    rows = ((cid, _snapshot_row(cid, snap)) for cid, snap in snapshots)
    newest = newest_snapshots(rows, version=itemgetter("version"))
    await conn.execute(_SNAPSHOTS, dump_json(list(newest.values())))


def _snapshot_row(customer_id: str, snap: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": customer_id, "email": snap.get("email"),
        "first_name": snap.get("first_name"), "last_name": snap.get("last_name"),
        "company": snap.get("company"), "phone": snap.get("phone"),
        "tags": list(snap.get("tags") or []), "attributes": snap.get("attributes") or {},
        "stage": snap.get("stage") or "lead", "consent": snap.get("consent") or {},
        "version": int(snap.get("version") or 1),
    }  # fmt: skip


async def set_consent(conn: asyncpg.Connection, customer_id: str, channel: str, state: str) -> None:
    await set_consents(conn, [(customer_id, channel, state)])


async def set_consents(conn: asyncpg.Connection, changes: list[tuple[str, str, str]]) -> None:
    """(customer, channel, state), each on the customer's row, or on a placeholder when it comes
    before contacts' snapshot. One statement; a customer's changes merge in their order. A row
    that already says so is left alone: a new customer's snapshot carries the consent its
    ConsentChanged then repeats, and rewriting the row cost a new row version and index entries."""
    merged: dict[str, dict[str, str]] = {}
    for customer_id, channel, state in changes:
        merged.setdefault(customer_id, {})[channel] = state
    await conn.execute(
        "INSERT INTO audience (customer_id, consent)"
        " SELECT * FROM unnest($1::uuid[], $2::jsonb[])"
        " ON CONFLICT (customer_id) DO UPDATE"
        " SET consent = audience.consent || EXCLUDED.consent, updated_at = now()"
        " WHERE audience.consent IS DISTINCT FROM audience.consent || EXCLUDED.consent",
        [uuid.UUID(customer_id) for customer_id in merged],
        list(merged.values()),
    )


async def ensure_row(conn: asyncpg.Connection, customer_id: str) -> None:
    """Events of other services can arrive before contacts' snapshot: keep a placeholder."""
    await conn.execute(
        "INSERT INTO audience (customer_id) VALUES ($1) ON CONFLICT DO NOTHING",
        uuid.UUID(customer_id),
    )


async def mark_merged(conn: asyncpg.Connection, survivor: str, merged: str) -> None:
    await ensure_row(conn, merged)
    await ensure_row(conn, survivor)
    await conn.execute(
        "UPDATE audience SET merged_into = $2, live = false, updated_at = now()"
        " WHERE customer_id = $1",
        uuid.UUID(merged),
        uuid.UUID(survivor),
    )
    await conn.execute(
        "UPDATE audience_events SET customer_id = $2 WHERE customer_id = $1",
        uuid.UUID(merged),
        uuid.UUID(survivor),
    )


async def mark_deleted(conn: asyncpg.Connection, customer_id: str) -> None:
    await ensure_row(conn, customer_id)
    await conn.execute(
        "UPDATE audience SET deleted_at = now(), live = false, updated_at = now()"
        " WHERE customer_id = $1",
        uuid.UUID(customer_id),
    )


# One statement for a wave's figures (a customer once in a wave). `before` reads the rows as
# they were, so the statement can answer whose orders or total spent changed.
_SET_METRICS = """
WITH given AS (
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[])
        AS g(customer_id, orders_count, total_spent, last_seen)
), before AS (  -- by `= ANY`: a join to `given` was planned as a hash of the whole audience
    SELECT customer_id, orders_count, total_spent FROM audience WHERE customer_id = ANY($1::uuid[])
), written AS (
    INSERT INTO audience AS a (customer_id, orders_count, total_spent, last_seen)
    SELECT customer_id, orders_count, total_spent::numeric, last_seen FROM given
    ON CONFLICT (customer_id) DO UPDATE SET orders_count = EXCLUDED.orders_count,
        total_spent = EXCLUDED.total_spent,
        last_seen = COALESCE(EXCLUDED.last_seen, a.last_seen), updated_at = now()
    RETURNING a.customer_id, a.orders_count, a.total_spent
)
SELECT w.customer_id FROM written w LEFT JOIN before b USING (customer_id)
WHERE b.customer_id IS NULL OR b.orders_count IS DISTINCT FROM w.orders_count
   OR b.total_spent IS DISTINCT FROM w.total_spent
"""


async def set_metrics(
    conn: asyncpg.Connection, figures: list[tuple[str, int, float, datetime | None]]
) -> set[str]:
    """(customer, orders, total spent, last seen), each customer once, on the customer's row or
    on a placeholder when it comes before contacts' snapshot. Returns the customers whose orders
    or total spent changed, or who had no row: segments read no other figure."""
    given = {uuid.UUID(customer_id): customer_id for customer_id, _, _, _ in figures}
    rows = await conn.fetch(
        _SET_METRICS,
        list(given),
        [orders for _, orders, _, _ in figures],
        [repr(float(spent)) for _, _, spent, _ in figures],
        [last_seen for _, _, _, last_seen in figures],
    )
    return {given[r["customer_id"]] for r in rows}


Touch = tuple[str, str, str, datetime]  # source id, customer id, event name, when


async def record_events(conn: asyncpg.Connection, touches: list[Touch]) -> None:
    """Named events of customers, once per source id, each customer with a row (a placeholder
    until contacts' snapshot comes): two statements for any number of events."""
    if not touches:
        return
    customers = sorted({uuid.UUID(customer_id) for _, customer_id, _, _ in touches})
    await conn.execute(
        "INSERT INTO audience (customer_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
        customers,
    )
    await conn.execute(
        "INSERT INTO audience_events (source_id, customer_id, name, at)"
        " SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[])"
        " ON CONFLICT (source_id) DO NOTHING",
        [t[0] for t in touches],
        [uuid.UUID(t[1]) for t in touches],
        [t[2] for t in touches],
        [t[3] for t in touches],
    )


async def fetch_row(conn: asyncpg.Connection, customer_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM audience WHERE customer_id = $1", customer_id)


# Customers' newest events of each name, as deep as the rules ask (`event_depths`): each customer
# and name one backward read of `audience_events_lookup`. Loading every event of the names cost
# 20 ms of CPU a re-evaluation for a customer with 10,000 of them (RESULTS.md, "A shop's orders").
_NEWEST_EVENTS = """
SELECT e.customer_id, e.name, e.at
FROM unnest($1::uuid[]) AS c(id) CROSS JOIN unnest($2::text[], $3::int[]) AS q(name, depth)
CROSS JOIN LATERAL (
    SELECT a.customer_id, a.name, a.at FROM audience_events a
    WHERE a.customer_id = c.id AND a.name = q.name
    ORDER BY a.at DESC LIMIT q.depth
) e
"""


async def load_profiles(
    conn: asyncpg.Connection, customer_ids: list[uuid.UUID], event_depths: dict[str, int]
) -> dict[uuid.UUID, Profile]:
    """The projections of those of the customers who are live, known contacts, for rule
    evaluation: of their events, the newest of each name as deep as `event_depths` says. Two
    statements however many customers."""
    rows = await conn.fetch(
        "SELECT * FROM audience WHERE customer_id = ANY($1::uuid[]) AND live", customer_ids
    )
    events: dict[uuid.UUID, list[tuple[str, datetime]]] = {r["customer_id"]: [] for r in rows}
    if rows and event_depths:
        found = await conn.fetch(
            _NEWEST_EVENTS, list(events), list(event_depths), list(event_depths.values())
        )
        for r in found:
            events[r["customer_id"]].append((r["name"], r["at"]))
    return {r["customer_id"]: profile_of(r, events[r["customer_id"]]) for r in rows}


async def load_profile(
    conn: asyncpg.Connection, customer_id: uuid.UUID, event_depths: dict[str, int]
) -> Profile | None:
    """`load_profiles` of one customer; None unless a live, known contact."""
    return (await load_profiles(conn, [customer_id], event_depths)).get(customer_id)


def profile_of(row: Any, events: list[tuple[str, datetime]]) -> Profile:
    return Profile(
        customer_id=str(row["customer_id"]),
        tags=list(row["tags"]),
        attributes=row["attributes"] or {},
        stage=row["stage"],
        consent=row["consent"] or {},
        orders_count=row["orders_count"],
        total_spent=Decimal(row["total_spent"]),
        events=events,
    )


def template_fields(row: Any) -> dict[str, Any]:
    """What a template sees of the customer."""
    return {
        "customer_id": str(row["customer_id"]),
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company": row["company"],
        "phone": row["phone"],
        "tags": list(row["tags"]),
        "attributes": row["attributes"] or {},
        "stage": row["stage"],
        "orders_count": row["orders_count"],
        "total_spent": float(row["total_spent"]),
    }
