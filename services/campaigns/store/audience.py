"""The audience projection: contacts' snapshots, consent, merges, metrics and named events."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.campaigns.rules.evaluate import Profile

MEMBERSHIP_LOCK = "campaigns:membership"  # shared by event handlers, exclusive for full builds


async def lock_for_events(conn: asyncpg.Connection) -> None:
    """Event handlers hold this shared; a full segment build holds it exclusively, so a build
    never races an incremental update of the same customer."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", MEMBERSHIP_LOCK)


async def lock_for_build(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", MEMBERSHIP_LOCK)


_SNAPSHOT = """
INSERT INTO audience (customer_id, known, live, email, first_name, last_name, company,
                      phone, tags, attributes, stage, consent, contact_version)
VALUES ($1, true, true, lower($2), $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
    never overwrites a newer. Pipelined (one round trip); name each customer once."""
    await conn.executemany(_SNAPSHOT, [_snapshot_args(cid, snap) for cid, snap in snapshots])


def _snapshot_args(customer_id: str, snap: dict[str, Any]) -> tuple[Any, ...]:
    return (
        uuid.UUID(customer_id), snap.get("email"), snap.get("first_name"),
        snap.get("last_name"), snap.get("company"), snap.get("phone"),
        list(snap.get("tags") or []), snap.get("attributes") or {},
        snap.get("stage") or "lead", snap.get("consent") or {}, int(snap.get("version") or 1),
    )  # fmt: skip


async def set_consent(conn: asyncpg.Connection, customer_id: str, channel: str, state: str) -> None:
    await set_consents(conn, [(customer_id, channel, state)])


async def set_consents(conn: asyncpg.Connection, changes: list[tuple[str, str, str]]) -> None:
    """(customer, channel, state), each on the customer's row, or on a placeholder when it comes
    before contacts' snapshot. Pipelined (one round trip)."""
    await conn.executemany(
        "INSERT INTO audience (customer_id, consent)"
        " VALUES ($1, jsonb_build_object($2::text, $3::text))"
        " ON CONFLICT (customer_id) DO UPDATE"
        " SET consent = audience.consent || EXCLUDED.consent, updated_at = now()",
        [(uuid.UUID(customer_id), channel, state) for customer_id, channel, state in changes],
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


async def set_metrics(
    conn: asyncpg.Connection, figures: list[tuple[str, int, float, datetime | None]]
) -> None:
    """(customer, orders, total spent, last seen), each on the customer's row, or on a
    placeholder when it comes before contacts' snapshot. Pipelined (one round trip)."""
    await conn.executemany(
        "INSERT INTO audience (customer_id, orders_count, total_spent, last_seen)"
        " VALUES ($1, $2, $3::text::numeric, $4)"
        " ON CONFLICT (customer_id) DO UPDATE SET orders_count = EXCLUDED.orders_count,"
        " total_spent = EXCLUDED.total_spent,"
        " last_seen = COALESCE(EXCLUDED.last_seen, audience.last_seen), updated_at = now()",
        [
            (uuid.UUID(customer_id), orders, repr(float(spent)), last_seen)
            for customer_id, orders, spent, last_seen in figures
        ],
    )


async def record_event(
    conn: asyncpg.Connection, source_id: str, customer_id: str, name: str, at: datetime
) -> None:
    await ensure_row(conn, customer_id)
    await conn.execute(
        "INSERT INTO audience_events (source_id, customer_id, name, at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (source_id) DO NOTHING",
        source_id,
        uuid.UUID(customer_id),
        name,
        at,
    )


async def fetch_row(conn: asyncpg.Connection, customer_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM audience WHERE customer_id = $1", customer_id)


async def load_profile(
    conn: asyncpg.Connection, customer_id: uuid.UUID, event_names: set[str]
) -> Profile | None:
    """The customer's projection for rule evaluation; None unless a live, known contact."""
    row = await fetch_row(conn, customer_id)
    if row is None or not row["live"]:
        return None
    events: list[tuple[str, datetime]] = []
    if event_names:
        found = await conn.fetch(
            "SELECT name, at FROM audience_events WHERE customer_id = $1 AND name = ANY($2)",
            customer_id,
            list(event_names),
        )
        events = [(r["name"], r["at"]) for r in found]
    return profile_of(row, events)


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
