"""The requester projection: which contacts customer an address belongs to.

Filled from contacts' events; an unknown address is asked about with an IdentityRequest.
"""

from __future__ import annotations

import uuid

import asyncpg

from shared import outbox
from shared.events.contacts import IdentityRequest

ASK_AGAIN_AFTER = "10 minutes"  # an unanswered request is repeated after this long


async def customer_for(conn: asyncpg.Connection, email: str) -> uuid.UUID | None:
    """The customer behind `email`; asks contacts (once in a while) when it is not known yet.

    Call inside the transaction that records the ticket or message.
    """
    row = await conn.fetchrow(
        "INSERT INTO requesters (email) VALUES ($1)"
        " ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email"
        " RETURNING customer_id, request_id, requested_at,"
        f" requested_at < now() - interval '{ASK_AGAIN_AFTER}' AS stale",
        email,
    )
    if row["customer_id"] is not None:
        return row["customer_id"]
    if row["request_id"] is None or row["stale"]:
        request_id = uuid.uuid4()
        await conn.execute(
            "UPDATE requesters SET request_id = $2, requested_at = now(), updated_at = now()"
            " WHERE email = $1",
            email,
            request_id,
        )
        await outbox.add(
            conn,
            IdentityRequest(
                request_id=str(request_id), requested_by="support", email=email,
                traits={"source": "support"},
            ),
        )
    return None


async def link(conn: asyncpg.Connection, email: str, customer_id: uuid.UUID) -> None:
    """Contacts says `email` is `customer_id`: remember it and fill the tickets that lacked it."""
    await conn.execute(
        "INSERT INTO requesters (email, customer_id) VALUES ($1, $2)"
        " ON CONFLICT (email) DO UPDATE SET customer_id = EXCLUDED.customer_id, updated_at = now()",
        email,
        customer_id,
    )
    await conn.execute(
        "UPDATE tickets SET customer_id = $2 WHERE requester_email = $1"
        " AND (customer_id IS NULL OR customer_id <> $2)",
        email,
        customer_id,
    )


async def fill_known(conn: asyncpg.Connection, email: str, customer_id: uuid.UUID) -> None:
    """A customer snapshot names this address: fill it in only where we asked and know nothing."""
    updated = await conn.execute(
        "UPDATE requesters SET customer_id = $2, updated_at = now()"
        " WHERE email = $1 AND customer_id IS NULL",
        email,
        customer_id,
    )
    if updated != "UPDATE 0":
        await link(conn, email, customer_id)


async def merge(conn: asyncpg.Connection, survivor: uuid.UUID, merged: uuid.UUID) -> None:
    """Everything of the merged customer now belongs to the survivor."""
    await conn.execute(
        "UPDATE requesters SET customer_id = $1, updated_at = now() WHERE customer_id = $2",
        survivor,
        merged,
    )
    await conn.execute(
        "UPDATE tickets SET customer_id = $1 WHERE customer_id = $2", survivor, merged
    )


async def change_email(conn: asyncpg.Connection, customer_id: uuid.UUID, email: str) -> None:
    """The customer's address changed: their open tickets are answered at the new one."""
    old = await conn.fetch(
        "SELECT email FROM requesters WHERE customer_id = $1 AND email <> $2", customer_id, email
    )
    await conn.execute(
        "UPDATE requesters SET customer_id = NULL, request_id = NULL, updated_at = now()"
        " WHERE customer_id = $1 AND email <> $2",
        customer_id,
        email,
    )
    await link(conn, email, customer_id)
    await conn.execute(
        "UPDATE tickets SET requester_email = $2 WHERE customer_id = $1"
        " AND requester_email = ANY($3::text[]) AND status <> 'closed'",
        customer_id,
        email,
        [r["email"] for r in old],
    )


async def forget_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    """The customer was deleted: addresses and tickets no longer point at it."""
    await conn.execute(
        "UPDATE requesters SET customer_id = NULL, request_id = NULL, updated_at = now()"
        " WHERE customer_id = $1",
        customer_id,
    )
    await conn.execute("UPDATE tickets SET customer_id = NULL WHERE customer_id = $1", customer_id)
