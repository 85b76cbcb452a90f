"""The SLA clock: every tick, breach what is due — without waiting for anyone's request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from services.support.store import sla
from shared.logging import get_logger

log = get_logger(__name__)


async def run_sla_timer(
    pool: Callable[[], asyncpg.Pool], tick_seconds: float, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            async with pool().acquire() as conn:
                breached = await sla.breach_due(conn)
            if breached:
                log.info("sla.breached", tickets=breached)
        except Exception as exc:  # database away: the next tick catches up
            log.warning("sla.timer_error", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick_seconds)
