"""The second pass of a link: calls and orders of the linked identity that a request wrote
unattributed because it read the links before the link committed.

The consumer links without the attribution lock (every tracking request holds it shared, so
taking it alone held up all ingestion for as long as the consumer's batch ran) and leaves a
follow-up. Here, in the consuming process: wait until every request that was writing touches
has ended (watched, not waited for in the lock's queue, so no request waits for this), then
attribute the identities again. Requests that began after the link committed read it themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from services.interactions.attribution import attribute
from services.interactions.consumers import publish_metrics
from services.interactions.store import identities
from shared.loops import drain_until_stopped

INTERVAL_S = 0.2
BATCH = 500


async def settle_once(pool: asyncpg.Pool) -> int:
    """One round; the number of follow-ups done."""
    async with pool.acquire() as conn:
        due = await identities.followups_due(conn, BATCH)  # their links have committed
        if not due:
            return 0
        await identities.wait_for_touches_in_flight(conn)
        async with identities.settling_links(conn):
            pairs = await identities.take_followups(conn, due)
            linked = await identities.lookup(conn, pairs)  # as linked now (or erased since)
            live = await identities.live_customers(conn, set(linked.values()))
            links = [(k, v, live[c]) for (k, v), c in sorted(linked.items()) if c in live]
            await attribute(conn, links)
            await publish_metrics(conn, {customer for _, _, customer in links})
    return len(due)


async def run(
    pool: Callable[[], asyncpg.Pool], consuming: Callable[[], bool], stop: asyncio.Event
) -> None:
    """In the process that consumes (it writes the follow-ups): one waiter, not one per worker."""

    async def step() -> int:
        return await settle_once(pool()) if consuming() else 0

    await drain_until_stopped(
        step, stop, batch=BATCH, interval_s=INTERVAL_S, error_event="stitch.followup_error"
    )
