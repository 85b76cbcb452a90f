"""One process of a service does a job (consuming its topics, relaying its outbox): the holder
of a session-level advisory lock, on a connection of its own. When that session ends (the
process exits, or its connection is lost), the lock is released and another process wins it."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from shared.db import UNAVAILABLE

RETRY_S = 2.0  # how soon a standby notices that the holder is gone


async def win(
    dsn: str, key: str, stop: asyncio.Event, retry_s: float = RETRY_S
) -> asyncpg.Connection | None:
    """Wait until this process holds the lock `key`, and return the connection that holds it
    (None once `stop` is set). Closing that connection hands the job over.

    Each attempt is a new connection, closed unless it took the lock, every two seconds: the
    consumer's election always worked this way. With a kept connection asked every second,
    `make chaos` saw consumer-group joins that never completed (bench/RESULTS.md, runs 34-36)."""
    while not stop.is_set():
        conn = None
        with contextlib.suppress(*UNAVAILABLE, asyncpg.PostgresError):
            conn = await asyncpg.connect(dsn, timeout=5)
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                return conn
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        await sleep_or_stop(stop, retry_s)
    return None


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
