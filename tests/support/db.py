"""A service's real database in a test that leaves nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from shared.db import create_pool, ensure_database, init_connection, migrate

SERVICES = Path(__file__).resolve().parents[2] / "services"


@asynccontextmanager
async def rolled_back(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up as the services set theirs up (JSON as Python objects), in a
    transaction rolled back at the end."""
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


@asynccontextmanager
async def fresh_schema(infra: Any, service: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new database with the platform's and the service's migrations."""
    name = f"schema_{service}_{uuid.uuid4().hex[:8]}"
    await ensure_database(infra.server_dsn, f"ecrm_{name}")
    pool = await create_pool(infra.dsn(name), 1)
    try:
        await migrate(pool, SERVICES / service / "migrations")
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()
