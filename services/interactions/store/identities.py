"""The identity projection: which customer an anonymous id, user id, email or loyalty id is."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AbstractAsyncContextManager

import asyncpg

from services.interactions.store import metrics
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

# Lock order: the figures' lock (`metrics.take_turn`), then this one, then rows. Every
# transaction that rewrites who touches belong to also publishes figures, and a consumer's batch
# may hold the figures' lock from an earlier run. Had a rewrite taken its rows (or this lock)
# first, a batch and a follow-up of the same visitor would each hold what the other waits for,
# and PostgreSQL would abort one after `deadlock_timeout` (1 s). Tracking requests take only
# this lock, shared, and the refresher only the figures' lock.

_SHARE_ATTRIBUTION = f"SELECT pg_advisory_xact_lock_shared(hashtext('{ATTRIBUTION}'))"


def writing_touches(conn: asyncpg.Connection) -> AbstractAsyncContextManager[None]:
    """The transaction of a request that writes touches: it takes the shared lock with BEGIN
    (one round trip), before it reads any link."""
    return transaction_starting_with(conn, _SHARE_ATTRIBUTION)


def settling_links(conn: asyncpg.Connection) -> AbstractAsyncContextManager[None]:
    """The transaction of a follow-up, which writes touches and rewrites them: the figures'
    lock, then the shared lock, with BEGIN."""
    return transaction_starting_with(conn, f"{metrics.TAKE_TURN}; {_SHARE_ATTRIBUTION}")


async def linking(conn: asyncpg.Connection) -> None:
    """In a consumer's transaction, before a link rewrites existing touches (without this
    lock: see above)."""
    await metrics.take_turn(conn)


async def rewriting_attribution(conn: asyncpg.Connection) -> None:
    """In a transaction that changes who existing touches belong to, before it does."""
    await metrics.take_turn(conn)
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


Link = tuple[str, str, uuid.UUID]  # kind, value, customer


async def note_followups(conn: asyncpg.Connection, links: list[Link]) -> None:
    """With links: attribute these identities' touches again once the writers in flight end."""
    if links:
        await conn.execute(
            "INSERT INTO attribution_followups (kind, value, customer_id)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])",
            *_columns(links),
        )


def _columns(links: list[Link]) -> tuple[list[str], list[str], list[uuid.UUID]]:
    return [k for k, _, _ in links], [v for _, v, _ in links], [c for _, _, c in links]


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


async def link(conn: asyncpg.Connection, links: list[Link]) -> None:
    """Each identity to its customer; an identity linked twice ends with its last link."""
    last = {(kind, value): customer for kind, value, customer in links}
    if last:
        await conn.execute(
            "INSERT INTO identity_links (kind, value, customer_id)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])"
            " ON CONFLICT (kind, value) DO UPDATE"
            " SET customer_id = EXCLUDED.customer_id, linked_at = now()",
            *_columns([(kind, value, customer) for (kind, value), customer in last.items()]),
        )


# Per identity kind, the touches of nobody yet that it names (each read by a partial index).
_WAITING = {
    "anonymous_id": "interactions WHERE customer_id IS NULL AND anonymous_id = p.value",
    "user_id": "interactions WHERE customer_id IS NULL AND user_id = p.value",
    "email": "orders WHERE customer_id IS NULL AND email = p.value",
    "loyalty_id": "orders WHERE customer_id IS NULL AND loyalty_id = p.value",
}
_ANY_WAITING = f"""
SELECT p.n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS p(kind, value, n)
WHERE {" OR ".join(f"(p.kind = '{k}' AND EXISTS (SELECT 1 FROM {t}))" for k, t in _WAITING.items())}
"""


async def with_touches_waiting(conn: asyncpg.Connection, links: list[Link]) -> list[int]:
    """The positions (from 0) of the links whose identity names touches of nobody yet: one
    statement, where most links of a follow-up find none."""
    if not links:
        return []
    kinds, values, _ = _columns(links)
    return sorted(r["n"] - 1 for r in await conn.fetch(_ANY_WAITING, kinds, values))


async def resolve(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    """The live customer an id stands for (a merged customer stands for its survivor)."""
    survivor = await conn.fetchval(
        "SELECT survivor_id FROM merged_customers WHERE merged_id = $1", customer_id
    )
    return survivor or customer_id


# A merged customer stands for its survivor (`fold` keeps survivors one step away).
_LIVE = """
SELECT i.id, coalesce(m.survivor_id, i.id) AS live
FROM unnest($1::uuid[]) AS i(id) LEFT JOIN merged_customers m ON m.merged_id = i.id
WHERE NOT EXISTS (
    SELECT 1 FROM deleted_customers d WHERE d.customer_id = coalesce(m.survivor_id, i.id)
)
"""


async def live_customers(
    conn: asyncpg.Connection, customer_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The live customer each id stands for; ids whose customer was deleted are left out."""
    if not customer_ids:
        return {}
    return {r["id"]: r["live"] for r in await conn.fetch(_LIVE, list(customer_ids))}


async def live_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID | None:
    """The live customer an id stands for (`live_customers`); None when it was deleted."""
    return (await live_customers(conn, {customer_id})).get(customer_id)
