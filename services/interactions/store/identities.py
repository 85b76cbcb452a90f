"""The identity projection: which customer an anonymous id, user id, email or loyalty id is."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AbstractAsyncContextManager

import asyncpg

from shared.db import transaction_starting_with

# Who a touch belongs to is decided twice: when it is written (from the links known then) and
# when a link, merge, deletion or erasure rewrites existing rows. Without a common lock, a touch
# written by a transaction that started before the rewrite committed, and committed after the
# rewrite ran, would keep the old attribution for ever. Writers of touches share the lock;
# merges, deletions and erasures take it alone (they wait for the touches in flight, and new ones
# wait for them). Links are far more frequent (every sign-in), so a link does not take it: it
# leaves a follow-up, and the calls written meanwhile are attributed once the writers that could
# have missed the link have ended (`wait_for_touches_in_flight`, stitch_followup.py).
ATTRIBUTION = "interactions:attribution"


_SHARE_ATTRIBUTION = f"SELECT pg_advisory_xact_lock_shared(hashtext('{ATTRIBUTION}'))"


def writing_touches(conn: asyncpg.Connection) -> AbstractAsyncContextManager[None]:
    """The transaction of a request that writes touches: it takes the shared lock with BEGIN
    (one round trip), before it reads any link."""
    return transaction_starting_with(conn, _SHARE_ATTRIBUTION)


async def rewriting_attribution(conn: asyncpg.Connection) -> None:
    """In a transaction that changes who existing touches belong to, before it does."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", ATTRIBUTION)


# The transactions holding the shared lock now, and whether any of them is still running (every
# transaction holds the lock on its own virtual id until it ends).
_WRITERS_NOW = f"""
SELECT virtualtransaction FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((classid::bigint << 32) | objid::bigint) = hashtext('{ATTRIBUTION}')::bigint
"""
_ANY_RUNNING = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY($1)"
)
POLL_S = 0.005


async def wait_for_touches_in_flight(conn: asyncpg.Connection) -> None:
    """Return once every transaction writing touches now has ended. It watches them rather than
    taking the lock alone, which would also hold up every request arriving meanwhile."""
    writers = [r["virtualtransaction"] for r in await conn.fetch(_WRITERS_NOW)]
    while writers:
        if not await conn.fetchval(_ANY_RUNNING, writers):
            return
        await asyncio.sleep(POLL_S)


async def note_followup(
    conn: asyncpg.Connection, kind: str, value: str, customer_id: uuid.UUID
) -> None:
    """With a link: attribute this identity's touches again once the writers in flight end."""
    await conn.execute(
        "INSERT INTO attribution_followups (kind, value, customer_id) VALUES ($1, $2, $3)",
        kind,
        value,
        customer_id,
    )


async def followups_due(conn: asyncpg.Connection, limit: int) -> list[int]:
    """The oldest follow-ups committed so far."""
    rows = await conn.fetch("SELECT id FROM attribution_followups ORDER BY id LIMIT $1", limit)
    return [r["id"] for r in rows]


async def take_followups(conn: asyncpg.Connection, ids: list[int]) -> set[tuple[str, str]]:
    """Removes the follow-ups (in the caller's transaction); their (kind, value) pairs."""
    rows = await conn.fetch(
        "DELETE FROM attribution_followups WHERE id = ANY($1::bigint[]) RETURNING kind, value",
        ids,
    )
    return {(r["kind"], r["value"]) for r in rows}


async def lookup(
    conn: asyncpg.Connection, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    if not pairs:
        return {}
    kinds, values = zip(*pairs, strict=True)
    rows = await conn.fetch(
        "SELECT l.kind, l.value, l.customer_id FROM identity_links l"
        " JOIN unnest($1::text[], $2::text[]) AS q(kind, value)"
        " ON l.kind = q.kind AND l.value = q.value",
        list(kinds),
        list(values),
    )
    return {(r["kind"], r["value"]): r["customer_id"] for r in rows}


async def link(conn: asyncpg.Connection, kind: str, value: str, customer_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO identity_links (kind, value, customer_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (kind, value) DO UPDATE"
        " SET customer_id = EXCLUDED.customer_id, linked_at = now()",
        kind,
        value,
        customer_id,
    )


async def resolve(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    """The live customer an id stands for (a merged customer stands for its survivor)."""
    survivor = await conn.fetchval(
        "SELECT survivor_id FROM merged_customers WHERE merged_id = $1", customer_id
    )
    return survivor or customer_id


async def is_deleted(conn: asyncpg.Connection, customer_id: uuid.UUID) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM deleted_customers WHERE customer_id = $1", customer_id
    )
    return found is not None


async def live_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID | None:
    """The live customer an id stands for (`resolve`); None when that customer was deleted."""
    customer = await resolve(conn, customer_id)
    return None if await is_deleted(conn, customer) else customer
