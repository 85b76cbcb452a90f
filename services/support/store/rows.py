"""Reading tickets and messages: rows -> public representations; lookups."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.errors import conflict, not_found, require_version

COLUMNS = (
    "id, ref, subject, status, priority, channel, requester_email, customer_id, assignee, team,"
    " tags, version, created_at, updated_at, first_response_at, resolved_at, closed_at,"
    " merged_into, follow_up_of, first_response_due, resolution_due, sla_paused_at,"
    " first_response_breached_at, resolution_breached_at"
)
MESSAGE_COLUMNS = "id, ticket_id, author, author_kind, visibility, channel, body, created_at"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def public(row: asyncpg.Record, csat: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "ref": row["ref"],
        "subject": row["subject"],
        "status": row["status"],
        "priority": row["priority"],
        "channel": row["channel"],
        "requester_email": row["requester_email"],
        "customer_id": _str(row["customer_id"]),
        "assignee": row["assignee"],
        "team": row["team"],
        "tags": list(row["tags"]),
        "version": row["version"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "first_response_at": _iso(row["first_response_at"]),
        "resolved_at": _iso(row["resolved_at"]),
        "closed_at": _iso(row["closed_at"]),
        "merged_into": _str(row["merged_into"]),
        "follow_up_of": _str(row["follow_up_of"]),
        "sla": {
            "first_response_due": _iso(row["first_response_due"]),
            "resolution_due": _iso(row["resolution_due"]),
            "paused": row["sla_paused_at"] is not None,
            "first_response_breached_at": _iso(row["first_response_breached_at"]),
            "resolution_breached_at": _iso(row["resolution_breached_at"]),
        },
        "csat": csat,
    }


def public_message(row: asyncpg.Record, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "ticket_id": str(row["ticket_id"]),
        "author": row["author"],
        "author_kind": row["author_kind"],
        "visibility": row["visibility"],
        "channel": row["channel"],
        "body": row["body"],
        "created_at": _iso(row["created_at"]),
        "attachments": attachments,
    }


async def fetch(
    conn: asyncpg.Connection, ticket_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM tickets WHERE id = $1{suffix}", ticket_id)


async def fetch_by_ref(conn: asyncpg.Connection, ref: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM tickets WHERE ref = $1", ref)


async def get_or_404(
    conn: asyncpg.Connection, ticket_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    row = await fetch(conn, ticket_id, lock=lock)
    if row is None:
        raise not_found("ticket", ticket_id)
    return row


async def writable(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> asyncpg.Record:
    """The ticket, locked, refusing merged ones (their thread lives on the survivor)."""
    row = await get_or_404(conn, ticket_id, lock=True)
    if row["merged_into"] is not None:
        raise conflict(
            f"ticket was merged into {row['merged_into']}", merged_into=str(row["merged_into"])
        )
    return row


async def survivor(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> asyncpg.Record | None:
    """Follow merges to the ticket that holds the thread now."""
    for _ in range(16):
        row = await fetch(conn, ticket_id, lock=True)
        if row is None or row["merged_into"] is None:
            return row
        ticket_id = row["merged_into"]
    return None


async def csat_of(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT rating, comment, rated_at FROM csat_ratings WHERE ticket_id = $1", ticket_id
    )
    if row is None:
        return None
    return {"rating": row["rating"], "comment": row["comment"], "rated_at": _iso(row["rated_at"])}


def check_version(row: asyncpg.Record, if_match: int | None) -> None:
    require_version("ticket", row["version"], if_match)


async def update(
    conn: asyncpg.Connection, ticket_id: uuid.UUID, changes: dict[str, Any]
) -> asyncpg.Record:
    """Apply column changes, bumping the version (the ETag)."""
    columns = list(changes)
    sets = "".join(f"{col} = ${i + 2}, " for i, col in enumerate(columns))
    return await conn.fetchrow(
        f"UPDATE tickets SET {sets}version = version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {COLUMNS}",
        ticket_id,
        *changes.values(),
    )
