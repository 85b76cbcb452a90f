"""Timers: launch campaigns (those sent now, and scheduled ones whose time has come: their
recipients a chunk at a time), expire abandoned claims, and sweep segments whose membership
changes with time alone (`within_days` windows): the customers one of whose events left a
window since the last sweep are evaluated again in SQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from services.campaigns.config import CampaignSettings
from services.campaigns.rules.parse import inline, is_time_based
from services.campaigns.store import campaigns, membership, messages
from shared.logging import get_logger

log = get_logger(__name__)
TICK_S = 1.0


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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_S)


async def tick(runtime: Any, settings: CampaignSettings) -> None:
    async with runtime.db.acquire() as conn:
        due = await campaigns.launch_due(conn)
        launched = await campaigns.materialise_launches(conn, settings.campaigns_launch_chunk)
        expired = await messages.expire_claims(conn, settings.campaigns_claim_timeout)
    if due or launched or expired:
        log.info("scheduler.tick", due=due, launched=launched, unknown=expired)


async def sweep_time_windows(runtime: Any) -> int:
    """Sweep every segment with a time window (`membership.sweep`); returns how many."""
    async with runtime.db.acquire() as conn:
        rules = await membership.all_rules(conn)
        due = [sid for sid, rule in rules.items() if is_time_based(inline(rule, rules))]
        for sid in due:
            async with conn.transaction():
                await membership.sweep(conn, uuid.UUID(sid))
    return len(due)
