"""Contacts' snapshots into sales' customers projection (its store, on its real database, in a
transaction rolled back at the end): a run of snapshots is one statement, and keeps what
applying them one by one, in order, would have kept."""

from __future__ import annotations

import uuid

import asyncpg

from services.sales.store import customers
from tests.support.db import rolled_back


async def _projected(conn: asyncpg.Connection, customer_id: uuid.UUID) -> tuple:
    row = await conn.fetchrow(
        "SELECT email, domain, account_id, version FROM customers WHERE id = $1", customer_id
    )
    return tuple(row) if row else ()


async def test_a_run_keeps_each_customer_s_newest_snapshot(infra, sales):
    async with rolled_back(infra.dsn("sales")) as conn:
        domain = f"snap-{uuid.uuid4().hex[:10]}.example"
        account = uuid.uuid4()
        await conn.execute(
            "INSERT INTO accounts (id, name, domain) VALUES ($1, 'Snap', $2)", account, domain
        )
        late, tied, private = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await customers.apply_snapshots(
            conn,
            [
                (late, f"new@{domain}", 2),
                (private, "someone@gmail.com", 1),
                (late, "old@elsewhere.example", 1),  # older, arrived later: ignored
                (tied, "first@elsewhere.example", 3),
                (tied, f"second@{domain}", 3),  # the same version again: the later one
            ],
        )
        assert await _projected(conn, late) == (f"new@{domain}", domain, account, 2)
        assert await _projected(conn, tied) == (f"second@{domain}", domain, account, 3)
        assert await _projected(conn, private) == ("someone@gmail.com", None, None, 1)

        await customers.apply_snapshots(conn, [(late, "older@elsewhere.example", 1)])
        assert await _projected(conn, late) == (f"new@{domain}", domain, account, 2)
        await customers.apply_snapshots(conn, [(late, "moved@elsewhere.example", 4)])
        assert await _projected(conn, late) == (
            "moved@elsewhere.example", "elsewhere.example", None, 4,
        )  # fmt: skip
