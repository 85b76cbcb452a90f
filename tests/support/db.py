"""A service's real database in a test that leaves nothing behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.db import init_connection


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
