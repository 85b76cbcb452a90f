"""Undoing a merge: the merged customer comes back with its own email and identities.

The merge recorded what it moved (`merges.moved`): the identities, the merged address and the
survivor's fields before the merge. The survivor gets those fields back where they still hold
what the merge put there (a later edit by an agent is kept).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.contacts.store.customers import apply_changes
from services.contacts.store.privacy_requests import audit
from services.contacts.store.rows import COLUMNS, email_taken, fetch, updated_event
from shared import outbox
from shared.errors import conflict, not_found
from shared.events.privacy import CustomersUnmerged


async def unmerge(
    conn: asyncpg.Connection, survivor_id: uuid.UUID, merged_id: uuid.UUID, requested_by: str
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """Returns (survivor, restored)."""
    async with conn.transaction():
        rows = {cid: await fetch(conn, cid, lock=True) for cid in sorted([survivor_id, merged_id])}
        survivor, merged = rows[survivor_id], rows[merged_id]
        for cid, row in ((survivor_id, survivor), (merged_id, merged)):
            if row is None or row["deleted_at"] or row["erased_at"]:
                raise not_found("customer", cid)
        if merged["merged_into"] != survivor_id:
            raise conflict("that customer is not merged into this one", field="merged_id")
        if survivor["merged_into"] is not None:
            raise conflict("this customer was itself merged into another; unmerge that first")
        record = await conn.fetchrow(
            "SELECT id, moved FROM merges WHERE survivor_id = $1 AND merged_id = $2"
            " AND undone_at IS NULL ORDER BY id DESC LIMIT 1 FOR UPDATE",
            survivor_id,
            merged_id,
        )
        if record is None or record["moved"].get("erased"):
            raise conflict("there is no merge of that customer to undo", field="merged_id")
        survivor = await _restore_survivor(conn, survivor, merged, record["moved"])
        restored = await _restore_merged(conn, merged, survivor_id, record["moved"])
        await conn.execute("UPDATE merges SET undone_at = now() WHERE id = $1", record["id"])
        await audit(conn, "unmerge", survivor_id, requested_by, other_id=merged_id)
        await outbox.add(
            conn,
            CustomersUnmerged(
                customer_id=str(survivor_id),
                restored_id=str(merged_id),
                identities=moved_identities(record["moved"]),
                at=datetime.now(UTC),
            ),
            updated_event(restored, ["merged_into"]),
        )
        return survivor, restored


def moved_identities(moved: dict[str, Any]) -> list[dict[str, str]]:
    """The identities that go back to the restored customer, its address included."""
    found = [{"kind": i["kind"], "value": i["value"]} for i in moved.get("identities", [])]
    if moved.get("email"):
        found.append({"kind": "email", "value": moved["email"]})
    return found


async def _restore_survivor(
    conn: asyncpg.Connection, survivor: asyncpg.Record, merged: asyncpg.Record, moved: dict
) -> asyncpg.Record:
    before = moved.get("survivor_before", {})
    changes = {
        field: before.get(field)
        for field in moved.get("fields", [])
        if _same(survivor[field], merged[field])
    }
    if not changes:
        return survivor
    return await apply_changes(conn, survivor, changes)


def _same(current: Any, merged_value: Any) -> bool:
    if isinstance(current, (list, tuple)) or isinstance(merged_value, (list, tuple)):
        return sorted(current or []) == sorted(merged_value or [])
    return current == merged_value


async def _restore_merged(
    conn: asyncpg.Connection, merged: asyncpg.Record, survivor_id: uuid.UUID, moved: dict
) -> asyncpg.Record:
    if merged["email"]:  # the merge made the address an identity of the survivor: undo that
        await conn.execute(
            "DELETE FROM identities WHERE kind = 'email' AND value = $1 AND customer_id = $2",
            merged["email"],
            survivor_id,
        )
        if await email_taken(conn, merged["email"], except_id=merged["id"]):
            raise conflict("the merged customer's address now belongs to another customer")
    for ident in moved.get("identities", []):
        await conn.execute(
            "UPDATE identities SET customer_id = $3 WHERE kind = $1 AND value = $2",
            ident["kind"],
            ident["value"],
            merged["id"],
        )
    return await conn.fetchrow(
        "UPDATE customers SET merged_into = NULL, version = version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {COLUMNS}",
        merged["id"],
    )
