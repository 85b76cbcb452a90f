"""Erasure: a customer's tickets stay (for the counts) but nothing of theirs remains in them."""

from __future__ import annotations

import uuid

import asyncpg

ERASED = "[erased]"


async def erase_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    found = await conn.fetch("SELECT email FROM requesters WHERE customer_id = $1", customer_id)
    emails = [r["email"] for r in found]
    tickets = await conn.fetch(
        "SELECT id FROM tickets WHERE customer_id = $1 OR requester_email = ANY($2::text[])",
        customer_id,
        emails,
    )
    ids = [r["id"] for r in tickets]
    await conn.execute(
        "DELETE FROM attachments WHERE message_id IN (SELECT id FROM ticket_messages"
        " WHERE ticket_id = ANY($1::uuid[]) AND author_kind = 'customer')",
        ids,
    )
    await conn.execute(
        "UPDATE ticket_messages SET body = $2, author = $2"
        " WHERE ticket_id = ANY($1::uuid[]) AND author_kind = 'customer'",
        ids,
        ERASED,
    )
    await conn.execute(
        "UPDATE outgoing_mail SET to_addr = $2, body = $2,"
        " status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END"
        " WHERE ticket_id = ANY($1::uuid[])",
        ids,
        ERASED,
    )
    await conn.execute(
        "UPDATE csat_ratings SET comment = NULL WHERE ticket_id = ANY($1::uuid[])", ids
    )
    await conn.execute(
        "UPDATE tickets SET requester_email = NULL, subject = $2, version = version + 1,"
        " updated_at = now() WHERE id = ANY($1::uuid[])",
        ids,
        ERASED,
    )
    await conn.execute(
        "DELETE FROM requesters WHERE customer_id = $1 OR email = ANY($2::text[])",
        customer_id,
        emails,
    )
