"""The requester projection: which contacts customer an address belongs to.

Filled from contacts' events; an unknown address is asked about with an IdentityRequest.
Merged customers resolve to their survivor (`merged_customers`), whatever order contacts'
events arrive in.
"""

from __future__ import annotations

import uuid

import asyncpg

from shared import outbox
from shared.events.contacts import IdentityRequest
from shared.events.support import TicketOpened
from shared.privacy import remember_moves, take_moves

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
                request_id=str(request_id),
                requested_by="support",
                email=email,
                traits={"source": "support"},
            ),
        )
    return None


async def link(conn: asyncpg.Connection, email: str, customer_id: uuid.UUID) -> None:
    """Contacts says `email` is `customer_id` (or its survivor, when it was merged since):
    remember it and fill the tickets that lacked it."""
    customer_id = await survivor_of(conn, customer_id)
    await conn.execute(
        "INSERT INTO requesters (email, customer_id) VALUES ($1, $2)"
        " ON CONFLICT (email) DO UPDATE SET customer_id = EXCLUDED.customer_id, updated_at = now()",
        email,
        customer_id,
    )
    resolved = await conn.fetch(
        "WITH old AS (SELECT id, customer_id FROM tickets WHERE requester_email = $1"
        " AND (customer_id IS NULL OR customer_id <> $2) FOR UPDATE)"
        " UPDATE tickets t SET customer_id = $2 FROM old WHERE t.id = old.id"
        " RETURNING t.id, t.ref, t.subject, t.channel, t.priority, t.requester_email,"
        " t.created_at, t.follow_up_of, old.customer_id IS NULL AS was_unknown",
        email,
        customer_id,
    )
    await _announce_requesters(conn, [t for t in resolved if t["was_unknown"]], customer_id)


async def _announce_requesters(
    conn: asyncpg.Connection, tickets: list[asyncpg.Record], customer_id: uuid.UUID
) -> None:
    """Tickets opened before contacts knew the sender were announced without a customer: say
    TicketOpened again, now with it (same ticket id), so the customer's timeline, scores and
    segments see the ticket. Consumers key tickets by `ticket_id`."""
    await outbox.add_many(
        conn,
        [
            TicketOpened(
                ticket_id=str(t["id"]), customer_id=str(customer_id), subject=t["subject"],
                channel=t["channel"], priority=t["priority"], requester_email=t["requester_email"],
                opened_at=t["created_at"], ref=t["ref"],
                follow_up_of=str(t["follow_up_of"]) if t["follow_up_of"] else None,
            )
            for t in tickets
        ],
    )  # fmt: skip


async def fill_known(conn: asyncpg.Connection, known: list[tuple[str, uuid.UUID]]) -> None:
    """Customer snapshots name these addresses: remember each (for the survivor, when the
    customer was merged since), unless we already know better. One statement for a run of
    snapshots; of an address named twice, the first wins, as applying them in order would have
    it. Only an address that was already waiting can have tickets to fill: every ticket's address
    has a row from the moment it is opened."""
    first: dict[str, uuid.UUID] = {}
    for email, customer_id in known:
        first.setdefault(email, customer_id)
    filled = await conn.fetch(
        "INSERT INTO requesters (email, customer_id)"
        " SELECT k.email, COALESCE((SELECT survivor_id FROM merged_customers"
        "                           WHERE merged_id = k.customer_id), k.customer_id)"
        " FROM unnest($1::text[], $2::uuid[]) AS k(email, customer_id)"
        " ON CONFLICT (email) DO UPDATE SET customer_id = EXCLUDED.customer_id, updated_at = now()"
        " WHERE requesters.customer_id IS NULL"
        " RETURNING email, customer_id, xmax = 0 AS inserted",  # an updated row carries our xid
        list(first),
        list(first.values()),
    )
    for row in filled:
        if not row["inserted"]:
            await link(conn, row["email"], row["customer_id"])


async def merge(conn: asyncpg.Connection, survivor: uuid.UUID, merged: uuid.UUID) -> None:
    """Everything of the merged customer now belongs to the survivor."""
    await _remember_survivor(conn, survivor, merged)
    await conn.execute(
        "UPDATE requesters SET customer_id = $1, updated_at = now() WHERE customer_id = $2",
        survivor,
        merged,
    )
    await conn.execute(
        "UPDATE tickets SET customer_id = $1 WHERE customer_id = $2", survivor, merged
    )


async def survivor_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    """The customer an id stands for now: its survivor when it was merged, else itself."""
    survivor = await conn.fetchval(
        "SELECT survivor_id FROM merged_customers WHERE merged_id = $1", customer_id
    )
    return survivor or customer_id


async def _remember_survivor(
    conn: asyncpg.Connection, survivor: uuid.UUID, merged: uuid.UUID
) -> None:
    """Record the merge; customers merged into `merged` earlier now resolve to `survivor` too
    (remembered, so an unmerge points them back)."""
    chained = await conn.fetch(
        "UPDATE merged_customers SET survivor_id = $1 WHERE survivor_id = $2"
        " RETURNING merged_id::text",
        survivor,
        merged,
    )
    await remember_moves(conn, merged, survivor, "merged_customer", [r[0] for r in chained])
    await conn.execute(
        "INSERT INTO merged_customers (merged_id, survivor_id) VALUES ($1, $2)"
        " ON CONFLICT (merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id,"
        " merged_at = now()",
        merged,
        survivor,
    )


async def forget_merge(conn: asyncpg.Connection, survivor: uuid.UUID, restored: uuid.UUID) -> None:
    """An unmerge: `restored` stands for itself again, and so do those merged into it."""
    await conn.execute("DELETE FROM merged_customers WHERE merged_id = $1", restored)
    chained = await take_moves(conn, restored, survivor, "merged_customer")
    await conn.execute(
        "UPDATE merged_customers SET survivor_id = $3 WHERE merged_id = ANY($1::uuid[])"
        " AND survivor_id = $2",
        chained,
        survivor,
        restored,
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
