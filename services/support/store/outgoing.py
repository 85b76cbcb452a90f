"""Mail to requesters: queued in the business transaction, delivered by the sender loop.

Each row carries its own stable Message-ID, recorded in `mail_ids` at once, so a reply to it
threads even before it is sent, and a re-send after a crash is recognisably the same mail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.support.domain import tagged_subject
from shared.ids import uuid7

MAX_REFERENCES = 20


@dataclass(frozen=True)
class Outgoing:
    id: uuid.UUID
    kind: str
    rfc_message_id: str
    to_addr: str
    subject: str
    body: str
    in_reply_to: str | None
    references: list[str]
    attempts: int


def new_message_id(domain: str, ident: uuid.UUID | None = None) -> str:
    return f"<{ident or uuid7()}@{domain}>"


async def thread_ids(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> list[str]:
    """The ticket's Message-IDs, oldest first (the root first), at most MAX_REFERENCES."""
    rows = await conn.fetch(
        "SELECT message_id FROM mail_ids WHERE ticket_id = $1 ORDER BY created_at, message_id",
        ticket_id,
    )
    ids = [r["message_id"] for r in rows]
    return ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


async def remember_id(
    conn: asyncpg.Connection, message_id: str, ticket_id: uuid.UUID, direction: str
) -> bool:
    """Record a Message-ID for a ticket; False when it was already known (a duplicate)."""
    inserted = await conn.fetchval(
        "INSERT INTO mail_ids (message_id, ticket_id, direction) VALUES ($1, $2, $3)"
        " ON CONFLICT (message_id) DO NOTHING RETURNING 1",
        message_id,
        ticket_id,
        direction,
    )
    return inserted is not None


async def queue(
    conn: asyncpg.Connection,
    ticket: asyncpg.Record,
    kind: str,
    body: str,
    domain: str,
    ticket_message: uuid.UUID | None = None,
) -> str | None:
    """Queue a mail to the requester; returns its Message-ID (None without an address)."""
    if not ticket["requester_email"]:
        return None
    ident = uuid7()
    message_id = new_message_id(domain, ident)
    refs = await thread_ids(conn, ticket["id"])
    await conn.execute(
        "INSERT INTO outgoing_mail (id, ticket_id, ticket_message, kind, rfc_message_id, to_addr,"
        " subject, body, in_reply_to, references_ids)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        ident,
        ticket["id"],
        ticket_message,
        kind,
        message_id,
        ticket["requester_email"],
        tagged_subject(ticket["ref"], ticket["subject"]),
        body,
        refs[-1] if refs else None,
        refs,
    )
    await remember_id(conn, message_id, ticket["id"], "out")
    return message_id


async def claim_due(conn: asyncpg.Connection, limit: int) -> list[Outgoing]:
    """Lock due mails for this sender (inside the caller's transaction)."""
    rows = await conn.fetch(
        "SELECT id, kind, rfc_message_id, to_addr, subject, body, in_reply_to, references_ids,"
        " attempts"
        " FROM outgoing_mail WHERE status = 'pending' AND next_attempt_at <= now()"
        " ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [
        Outgoing(
            r["id"],
            r["kind"],
            r["rfc_message_id"],
            r["to_addr"],
            r["subject"],
            r["body"],
            r["in_reply_to"],
            list(r["references_ids"]),
            r["attempts"],
        )
        for r in rows
    ]


async def mark_sent(conn: asyncpg.Connection, mail_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE outgoing_mail SET status = 'sent', sent_at = now(), attempts = attempts + 1,"
        " last_error = NULL WHERE id = $1",
        mail_id,
    )


async def mark_failed(
    conn: asyncpg.Connection, mail_id: uuid.UUID, error: str, backoff_s: float, give_up: bool
) -> None:
    await conn.execute(
        "UPDATE outgoing_mail SET attempts = attempts + 1, last_error = $2,"
        " next_attempt_at = now() + make_interval(secs => $3),"
        " status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END WHERE id = $1",
        mail_id,
        error[:1000],
        backoff_s,
        give_up,
    )
