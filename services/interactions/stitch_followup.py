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
import contextlib
import uuid
from collections.abc import Callable

import asyncpg

from services.interactions.consumers import attribute, publish_metrics
from services.interactions.store import identities
from shared.logging import get_logger

log = get_logger(__name__)
INTERVAL_S = 0.2
BATCH = 500


async def settle_once(pool: asyncpg.Pool) -> int:
    """One round; the number of follow-ups done."""
    async with pool.acquire() as conn:
        due = await identities.followups_due(conn, BATCH)  # their links have committed
        if not due:
            return 0
        await identities.wait_for_touches_in_flight(conn)
        async with identities.writing_touches(conn):
            pairs = await identities.take_followups(conn, due)
            linked = await identities.lookup(conn, pairs)  # as linked now (or erased since)
            customers: set[uuid.UUID] = set()
            for (kind, value), customer_id in sorted(linked.items()):
                customer = await identities.resolve(conn, customer_id)
                if not await identities.is_deleted(conn, customer):
                    await attribute(conn, kind, value, customer)
                    customers.add(customer)
            await publish_metrics(conn, customers)
    return len(due)


async def run(
    pool: Callable[[], asyncpg.Pool], consuming: Callable[[], bool], stop: asyncio.Event
) -> None:
    """In the process that consumes (it writes the follow-ups): one waiter, not one per worker."""
    while not stop.is_set():
        done = 0
        if consuming():
            try:
                done = await settle_once(pool())
            except Exception as exc:  # database away: the follow-ups wait in PostgreSQL
                log.warning("stitch.followup_error", error=repr(exc))
        if done < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_S)
