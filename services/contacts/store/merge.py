"""Merging two customers: the survivor keeps everything; the merged id resolves to it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.contacts.domain import merged_fields
from services.contacts.store.customers import apply_changes
from services.contacts.store.rows import fetch
from shared import outbox
from shared.errors import conflict, not_found
from shared.events.contacts import CustomersMerged


async def merge(
    conn: asyncpg.Connection, survivor_id: uuid.UUID, merged_id: uuid.UUID, requested_by: str
) -> asyncpg.Record:
    if survivor_id == merged_id:
        raise conflict("a customer cannot be merged into itself", field="merged_id")
    async with conn.transaction():
        rows = {}
        for cid in sorted([survivor_id, merged_id]):  # fixed lock order: no deadlock
            rows[cid] = await fetch(conn, cid, lock=True)
        survivor, merged = rows[survivor_id], rows[merged_id]
        for cid, row in ((survivor_id, survivor), (merged_id, merged)):
            if row is None or row["deleted_at"] or row["erased_at"]:
                raise not_found("customer", cid)
        if merged["merged_into"] is not None:
            raise conflict("that customer was already merged", field="merged_id")
        if survivor["merged_into"] is not None:
            raise conflict("the survivor was itself merged into another customer")
        return await _move(conn, survivor, merged, requested_by)


async def _move(
    conn: asyncpg.Connection, survivor: asyncpg.Record, merged: asyncpg.Record, requested_by: str
) -> asyncpg.Record:
    moved_identities = await conn.fetch(
        "UPDATE identities SET customer_id = $1 WHERE customer_id = $2 RETURNING kind, value",
        survivor["id"],
        merged["id"],
    )
    await conn.execute(
        "UPDATE customers SET merged_into = $1, version = version + 1, updated_at = now()"
        " WHERE id = $2",
        survivor["id"],
        merged["id"],
    )
    if merged["email"]:
        await conn.execute(
            "INSERT INTO identities (kind, value, customer_id) VALUES ('email', $1, $2)"
            " ON CONFLICT (kind, value) DO UPDATE SET customer_id = EXCLUDED.customer_id",
            merged["email"],
            survivor["id"],
        )
    changes = merged_fields(dict(survivor), dict(merged))
    moved: dict[str, Any] = {
        "identities": [dict(r) for r in moved_identities],
        "email": merged["email"],
        "fields": sorted(changes),
        "survivor_before": {k: _jsonable(survivor[k]) for k in changes},
    }
    await conn.execute(
        "INSERT INTO merges (survivor_id, merged_id, moved, requested_by) VALUES ($1, $2, $3, $4)",
        survivor["id"],
        merged["id"],
        moved,
        requested_by,
    )
    await outbox.add(
        conn, CustomersMerged(customer_id=str(survivor["id"]), merged_id=str(merged["id"]))
    )
    if not changes:
        return survivor
    return await apply_changes(conn, survivor, changes)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value
