"""Background work that drains a table in batches until the service stops."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from shared.election import sleep_or_stop
from shared.logging import get_logger

log = get_logger(__name__)


async def drain_until_stopped(
    step: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    batch: int,
    interval_s: float,
    error_event: str,
) -> None:
    """Run `step` (it returns how many items it handled) until `stop`, pausing `interval_s`
    whenever it handled less than a full `batch`. A step that fails (the database away) is
    logged and tried again after the pause: its work waits in PostgreSQL."""
    while not stop.is_set():
        try:
            done = await step()
        except Exception as exc:
            log.warning(error_event, error=repr(exc))
            done = 0
        if done < batch:
            await sleep_or_stop(stop, interval_s)
