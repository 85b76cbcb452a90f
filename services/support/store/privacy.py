"""Support's part of the privacy lifecycle.

Erasure: the person's tickets stay (for counts and SLA figures) but nothing of theirs remains in
them: subjects, every message body of their tickets (an agent's reply quotes and names the
customer), attachments, outgoing mail, CSAT comments, quarantined mail from their address and the
requester projection go. Export: everything the same rows hold. Unmerge: tickets and addresses
go back to the restored customer.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.privacy import (
    ERASED,
    cap_section,
    email_hash,
    jsonable,
    remember_erased,
    remember_moves,
    scrub_outbox,
    take_moves,
)

EXPORT_ROWS = 2000


async def _person(
    conn: asyncpg.Connection, ids: list[uuid.UUID], hashes: list[str]
) -> tuple[list[str], list[uuid.UUID]]:
    """The addresses and tickets of the person: by customer id, or by an address whose hash
    contacts sent (tickets whose requester was never resolved)."""
    found = await conn.fetch(
        "SELECT email FROM requesters WHERE customer_id = ANY($1::uuid[])"
        " OR requester_email_hash(email) = ANY($2::text[])",
        ids,
        hashes,
    )
    emails = [r["email"] for r in found]
    tickets = await conn.fetch(
        "SELECT id FROM tickets WHERE customer_id = ANY($1::uuid[])"
        " OR requester_email = ANY($2::text[])",
        ids,
        emails,
    )
    return emails, [r["id"] for r in tickets]


async def erase(
    conn: asyncpg.Connection, customer_id: str, ids: list[uuid.UUID], hashes: list[str]
) -> None:
    emails, tickets = await _person(conn, ids, hashes)
    await conn.execute(
        "DELETE FROM attachments WHERE message_id IN"
        " (SELECT id FROM ticket_messages WHERE ticket_id = ANY($1::uuid[]))",
        tickets,
    )
    await conn.execute(
        "UPDATE ticket_messages SET body = $2,"
        " author = CASE WHEN author_kind = 'customer' THEN $2 ELSE author END"
        " WHERE ticket_id = ANY($1::uuid[])",
        tickets,
        ERASED,
    )
    await conn.execute(
        "UPDATE outgoing_mail SET to_addr = $2, subject = $2, body = $2,"
        " status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END"
        " WHERE ticket_id = ANY($1::uuid[])",
        tickets,
        ERASED,
    )
    await conn.execute(
        "UPDATE csat_ratings SET comment = NULL WHERE ticket_id = ANY($1::uuid[])", tickets
    )
    await conn.execute(
        "UPDATE tickets SET requester_email = NULL, subject = $2, version = version + 1,"
        " updated_at = now() WHERE id = ANY($1::uuid[])",
        tickets,
        ERASED,
    )
    await conn.execute("DELETE FROM quarantined_mail WHERE lower(mail_from) = ANY($1)", emails)
    await conn.execute("DELETE FROM requesters WHERE email = ANY($1::text[])", emails)
    await conn.execute(
        "DELETE FROM merge_moves WHERE merged_id = ANY($1::uuid[]) OR survivor_id = ANY($1)", ids
    )
    known = {email_hash(e) for e in emails}
    await remember_erased(conn, customer_id, [str(i) for i in ids], {*hashes, *known})
    await scrub_outbox(conn, {str(i) for i in ids} | set(emails) | {str(t) for t in tickets})


async def section(
    conn: asyncpg.Connection, ids: list[uuid.UUID], hashes: list[str] | None = None
) -> dict[str, Any]:
    emails, tickets = await _person(conn, ids, hashes or [])
    rows = await conn.fetch(
        "SELECT id, ref, subject, status, priority, channel, requester_email, customer_id,"
        " assignee, team, tags, created_at, updated_at, first_response_at, resolved_at,"
        " closed_at FROM tickets WHERE id = ANY($1::uuid[]) ORDER BY created_at DESC",
        tickets,
    )
    messages = await conn.fetch(
        "SELECT id, ticket_id, author, author_kind, visibility, channel, body, created_at"
        " FROM ticket_messages WHERE ticket_id = ANY($1::uuid[])"
        " ORDER BY created_at DESC LIMIT $2",
        tickets,
        EXPORT_ROWS,
    )
    attachments = await conn.fetch(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.created_at"
        " FROM attachments a JOIN ticket_messages m ON m.id = a.message_id"
        " WHERE m.ticket_id = ANY($1::uuid[])",
        tickets,
    )
    ratings = await conn.fetch(
        "SELECT ticket_id, rating, comment, rated_at FROM csat_ratings"
        " WHERE ticket_id = ANY($1::uuid[])",
        tickets,
    )
    return cap_section({
        "addresses": emails,
        "tickets": jsonable(rows),
        "messages": jsonable(messages),
        "attachments": jsonable(attachments),
        "satisfaction": jsonable(ratings),
    })  # fmt: skip


async def remember_merge(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID) -> None:
    """Call before the merge is applied: the tickets and addresses of the merged customer."""
    tickets = await conn.fetch("SELECT id::text FROM tickets WHERE customer_id = $1", merged)
    await remember_moves(conn, merged, survivor, "ticket", [r[0] for r in tickets])
    emails = await conn.fetch("SELECT email FROM requesters WHERE customer_id = $1", merged)
    await remember_moves(conn, merged, survivor, "requester", [r[0] for r in emails])


async def unmerge(
    conn: asyncpg.Connection, survivor: uuid.UUID, restored: uuid.UUID, emails: list[str]
) -> None:
    """What the merge moved goes back, and so do later tickets from the restored addresses."""
    tickets = await take_moves(conn, restored, survivor, "ticket")
    addresses = {*await take_moves(conn, restored, survivor, "requester"), *emails}
    await conn.execute(
        "UPDATE requesters SET customer_id = $2, updated_at = now()"
        " WHERE email = ANY($3::text[]) AND (customer_id = $1 OR customer_id IS NULL)",
        survivor,
        restored,
        sorted(addresses),
    )
    await conn.execute(
        "UPDATE tickets SET customer_id = $2 WHERE customer_id = $1"
        " AND (id = ANY($3::uuid[]) OR requester_email = ANY($4::text[]))",
        survivor,
        restored,
        tickets,
        sorted(addresses),
    )
