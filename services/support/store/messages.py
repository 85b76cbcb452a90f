"""The thread of a ticket: messages, their attachments, and what a new message sets in motion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.support.domain import Attachment, preview
from services.support.store.rows import MESSAGE_COLUMNS, public_message
from shared import outbox
from shared.events.support import TicketMessageAdded
from shared.ids import uuid7


async def insert_message(
    conn: asyncpg.Connection,
    ticket: asyncpg.Record,
    author: str,
    author_kind: str,
    visibility: str,
    channel: str,
    body: str,
    attachments: list[Attachment] = (),  # type: ignore[assignment]
) -> asyncpg.Record:
    """Append a message (and its attachments) to the thread and queue TicketMessageAdded."""
    now = datetime.now(UTC)
    row = await conn.fetchrow(
        "INSERT INTO ticket_messages (id, ticket_id, author, author_kind, visibility, channel,"
        f" body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {MESSAGE_COLUMNS}",
        uuid7(),
        ticket["id"],
        author,
        author_kind,
        visibility,
        channel,
        body,
        now,
    )
    if attachments:
        await conn.executemany(
            "INSERT INTO attachments (id, message_id, filename, content_type, size, data)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (uuid7(), row["id"], a.filename, a.content_type, len(a.data), a.data)
                for a in attachments
            ],
        )
    await outbox.add(
        conn,
        TicketMessageAdded(
            ticket_id=str(ticket["id"]),
            customer_id=str(ticket["customer_id"]) if ticket["customer_id"] else None,
            message_id=str(row["id"]),
            author=author,
            author_kind=author_kind,
            visibility=visibility,
            channel=channel,
            body_preview=preview(body) if visibility == "public" else "",
            at=now,
        ),
    )
    return row


async def attachments_of(
    conn: asyncpg.Connection, message_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    rows = await conn.fetch(
        "SELECT id, message_id, filename, content_type, size FROM attachments"
        " WHERE message_id = ANY($1::uuid[]) ORDER BY id",
        message_ids,
    )
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["message_id"], []).append(
            {
                "id": str(r["id"]),
                "filename": r["filename"],
                "content_type": r["content_type"],
                "size": r["size"],
            }
        )
    return out


async def thread(
    conn: asyncpg.Connection,
    ticket_id: uuid.UUID,
    after: uuid.UUID | None,
    limit: int,
    visibility: str | None = None,
) -> list[dict[str, Any]]:
    """Messages oldest first (limit + 1 rows, for `page`)."""
    rows = await conn.fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM ticket_messages WHERE ticket_id = $1"
        " AND ($2::uuid IS NULL OR id > $2) AND ($3::text IS NULL OR visibility = $3)"
        " ORDER BY id LIMIT $4",
        ticket_id,
        after,
        visibility,
        limit + 1,
    )
    files = await attachments_of(conn, [r["id"] for r in rows])
    return [public_message(r, files.get(r["id"], [])) for r in rows]


async def attachment(
    conn: asyncpg.Connection, ticket_id: uuid.UUID, attachment_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT a.filename, a.content_type, a.data FROM attachments a"
        " JOIN ticket_messages m ON m.id = a.message_id"
        " WHERE a.id = $1 AND m.ticket_id = $2",
        attachment_id,
        ticket_id,
    )
