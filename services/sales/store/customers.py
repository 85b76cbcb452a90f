"""The customers projection (from contacts' snapshots): email domain -> account."""

from __future__ import annotations

import uuid
from operator import itemgetter

import asyncpg

from services.sales.domain.accounts import email_domain
from shared.events.contacts import newest_snapshots

_UPSERT = """
INSERT INTO customers (id, email, domain, account_id, version)
SELECT s.id, s.email, s.domain, (SELECT id FROM accounts WHERE domain = s.domain), s.version
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[]) AS s(id, email, domain, version)
ON CONFLICT (id) DO UPDATE
   SET email = EXCLUDED.email, domain = EXCLUDED.domain, account_id = EXCLUDED.account_id,
       version = EXCLUDED.version, updated_at = now()
 WHERE customers.version <= EXCLUDED.version
"""


async def apply_snapshots(
    conn: asyncpg.Connection, snapshots: list[tuple[uuid.UUID, str | None, int]]
) -> None:
    """Keep each customer's newest snapshot (an older, late one is ignored); attach by email
    domain. One statement for a run of snapshots: of one customer's, the newest (the last of
    equal versions) is the one applying them in order would have kept."""
    newest = newest_snapshots(
        ((customer_id, (email, version)) for customer_id, email, version in snapshots),
        version=itemgetter(1),
    )
    emails = [email for email, _ in newest.values()]
    await conn.execute(
        _UPSERT,
        list(newest),
        emails,
        [email_domain(email) for email in emails],
        [version for _, version in newest.values()],
    )


async def mark_merged(conn: asyncpg.Connection, survivor: uuid.UUID, merged: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO customers (id, merged_into) VALUES ($1, $2)"
        " ON CONFLICT (id) DO UPDATE SET merged_into = $2, updated_at = now()",
        merged,
        survivor,
    )


async def mark_deleted(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO customers (id, deleted_at) VALUES ($1, now())"
        " ON CONFLICT (id) DO UPDATE SET deleted_at = now(), account_id = NULL",
        customer_id,
    )


async def is_known(conn: asyncpg.Connection, customer_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1 AND deleted_at IS NULL)"
            " OR EXISTS (SELECT 1 FROM lead_scores WHERE customer_id = $1)",
            customer_id,
        )
    )
