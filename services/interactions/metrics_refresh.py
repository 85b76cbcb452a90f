"""The figures of customers whose timeline grew through our own channels (web calls, orders):
recomputed shortly after, by one refresher per service, and published when they changed.

Marked due with the touch (`timeline.add_marking`), so the interactions service does not read its
own event stream back to learn what it has just written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from services.interactions.consumers import publish_metrics
from services.interactions.store import metrics
from shared.loops import drain_until_stopped

INTERVAL_S = 0.2
BATCH = 1000


async def refresh_once(pool: asyncpg.Pool) -> int:
    """One batch; the number of customers refreshed (0 when another process holds the turn)."""
    async with pool.acquire() as conn, conn.transaction():
        # One writer of figures at a time (the consumer too), so they never miss a touch and are
        # published in the order they were computed; when taken, the next round comes soon.
        if not await metrics.take_turn(conn, wait=False):
            return 0
        due = await metrics.take_pending(conn, BATCH)
        await publish_metrics(conn, due)
    return len(due)


async def run(pool: Callable[[], asyncpg.Pool], stop: asyncio.Event) -> None:
    await drain_until_stopped(
        lambda: refresh_once(pool()),
        stop,
        batch=BATCH,
        interval_s=INTERVAL_S,
        error_event="metrics.refresh_error",
    )
