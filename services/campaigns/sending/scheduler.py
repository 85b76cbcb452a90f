"""Timers: finish segments' full builds (`builds`), launch campaigns (those sent now, and
scheduled ones whose time has come: their recipients a chunk at a time), expire abandoned
claims, and sweep segments whose membership changes with time alone (`within_days` windows):
the customers one of whose events left a window since the last sweep are evaluated again in
SQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from services.campaigns.config import CampaignSettings
from services.campaigns.rules.parse import inline, is_time_based
from services.campaigns.store import builds, campaigns, membership, messages
from shared.db import UNAVAILABLE
from shared.logging import get_logger

log = get_logger(__name__)
TICK_S = 1.0
_woken = asyncio.Event()


def wake() -> None:
    """A request committed work for the timers (a build's next chunks, a launch): this instance
    starts on it now instead of at its next tick."""
    _woken.set()


async def run(runtime: Any, settings: CampaignSettings, stop: asyncio.Event) -> None:
    next_sweep = time.monotonic() + settings.campaigns_sweep_interval
    while not stop.is_set():
        try:
            await tick(runtime, settings)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + settings.campaigns_sweep_interval
                await sweep_time_windows(runtime)
        except Exception as exc:  # database away: try again on the next tick
            log.warning("scheduler.error", error=repr(exc))
        await _pause(stop)


async def _pause(stop: asyncio.Event) -> None:
    """A tick, or less when stopped or woken."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(_woken.wait())]
    await asyncio.wait(waits, timeout=TICK_S, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()
    _woken.clear()


async def tick(runtime: Any, settings: CampaignSettings) -> None:
    async with runtime.db.acquire() as conn:
        due = await campaigns.launch_due(conn)
        launched = await campaigns.materialise_launches(conn, settings.campaigns_launch_chunk)
        expired = await messages.expire_claims(conn, settings.campaigns_claim_timeout)
        # last: a large build takes seconds, and no other campaign's launch waits for it
        built = await builds.continue_builds(conn, settings.campaigns_build_chunk)
    if built or due or launched or expired:
        log.info("scheduler.tick", built=built, due=due, launched=launched, unknown=expired)


async def sweep_time_windows(runtime: Any) -> int:
    """Sweep every segment with a time window (`membership.sweep`); returns how many."""
    async with runtime.db.acquire() as conn:
        rules = await membership.all_rules(conn)
        due = [sid for sid, rule in rules.items() if is_time_based(inline(rule, rules))]
        for sid in due:
            try:
                async with conn.transaction():
                    await membership.sweep(conn, uuid.UUID(sid))
            except UNAVAILABLE:
                raise
            except Exception as exc:  # this segment's sweep: the others' go on
                log.warning("segment.sweep_failed", segment_id=sid, error=repr(exc))
    return len(due)
