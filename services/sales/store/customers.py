"""The customers projection (from contacts' snapshots): email domain -> account."""

from __future__ import annotations

import uuid

import asyncpg

from services.sales.domain.accounts import email_domain

_UPSERT = """
INSERT INTO customers (id, email, domain, account_id, version)
VALUES ($1, $2, $3, (SELECT id FROM accounts WHERE domain = $3), $4)
ON CONFLICT (id) DO UPDATE
   SET email = EXCLUDED.email, domain = EXCLUDED.domain, account_id = EXCLUDED.account_id,
       version = EXCLUDED.version, updated_at = now()
 WHERE customers.version <= EXCLUDED.version
"""


async def apply_snapshot(
    conn: asyncpg.Connection, customer_id: uuid.UUID, email: str | None, version: int
) -> None:
    """Keep the newest snapshot (an older, late one is ignored); attach by email domain."""
    await conn.execute(_UPSERT, customer_id, email, email_domain(email), version)


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
