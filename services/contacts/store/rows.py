"""Reading customers: row -> public representation and event snapshots; lookups."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.events.contacts import CustomerCreated, CustomerUpdated

COLUMNS = (
    "id, email, phone, first_name, last_name, company, tags, attributes, stage, consent,"
    " version, created_at, updated_at, merged_into, deleted_at, erased_at"
)


def public(row: asyncpg.Record, identities: list[dict[str, str]] | None = None) -> dict[str, Any]:
    consent = row["consent"] or {}
    out = {
        "id": str(row["id"]),
        "email": row["email"],
        "phone": row["phone"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company": row["company"],
        "tags": list(row["tags"]),
        "attributes": row["attributes"],
        "stage": row["stage"],
        "consent": {ch: entry["state"] for ch, entry in consent.items()},
        "consent_details": consent,
        "version": row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
    if identities is not None:
        out["identities"] = identities
    return out


def snapshot(row: asyncpg.Record) -> dict[str, Any]:
    consent = row["consent"] or {}
    return {
        "customer_id": str(row["id"]),
        "email": row["email"],
        "phone": row["phone"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company": row["company"],
        "tags": list(row["tags"]),
        "attributes": row["attributes"],
        "stage": row["stage"],
        "consent": {ch: entry["state"] for ch, entry in consent.items()},
        "version": row["version"],
    }


def created_event(row: asyncpg.Record) -> CustomerCreated:
    return CustomerCreated(**snapshot(row))


def updated_event(row: asyncpg.Record, changed: list[str]) -> CustomerUpdated:
    return CustomerUpdated(**snapshot(row), changed=changed)


async def fetch(
    conn: asyncpg.Connection, customer_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM customers WHERE id = $1{suffix}", customer_id
    )


async def resolve(
    conn: asyncpg.Connection, customer_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """Follow merges to the survivor; None for unknown, deleted or erased customers."""
    for _ in range(16):
        row = await fetch(conn, customer_id, lock=lock)
        if row is None or row["deleted_at"] is not None or row["erased_at"] is not None:
            return None
        if row["merged_into"] is None:
            return row
        customer_id = row["merged_into"]
    return None


async def identities_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[dict[str, str]]:
    rows = await conn.fetch(
        "SELECT kind, value FROM identities WHERE customer_id = $1"
        " ORDER BY created_at, kind, value",
        customer_id,
    )
    return [{"kind": r["kind"], "value": r["value"]} for r in rows]


async def find_by_email(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM customers WHERE email = $1"
        " AND merged_into IS NULL AND deleted_at IS NULL AND erased_at IS NULL",
        email,
    )
    if row is not None:
        return row
    owner = await conn.fetchval(
        "SELECT customer_id FROM identities WHERE kind = 'email' AND value = $1", email
    )
    return await resolve(conn, owner) if owner else None


async def find_by_identity(
    conn: asyncpg.Connection, kind: str, value: str
) -> asyncpg.Record | None:
    owner = await conn.fetchval(
        "SELECT customer_id FROM identities WHERE kind = $1 AND value = $2", kind, value
    )
    return await resolve(conn, owner) if owner else None


async def email_taken(
    conn: asyncpg.Connection, email: str, except_id: uuid.UUID | None = None
) -> bool:
    row = await find_by_email(conn, email)
    return row is not None and row["id"] != except_id
