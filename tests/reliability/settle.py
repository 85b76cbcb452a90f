"""Waiting for quiet: every service up, outboxes drained, consumer lag 0, campaigns launched
and their mail due sent, twice in a row. A broker that lost its log (restarted) is refilled by a replay first."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from ecrm.status import replay
from ecrm.topology import service_url
from services.campaigns import queues as campaigns_queues
from services.interactions import queues as interactions_queues
from shared import outbox
from shared.kafka_admin import consumer_lag
from shared.settings import Settings

POLL_S = 2.0


@dataclass
class Quiet:
    reached: bool = False
    waited_s: float = 0.0
    replayed: dict[str, int] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)  # what was still busy at the end


async def _count(
    settings: Settings, service: str, read: Callable[[asyncpg.Connection], Awaitable[int]]
) -> int | None:
    """`read` on the service's database; None while it cannot be reached."""
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        conn = await asyncpg.connect(settings.database_dsn(service), timeout=3)
        try:
            return await read(conn)
        finally:
            await conn.close()
    return None


def _query(sql: str) -> Callable[[asyncpg.Connection], Awaitable[int]]:
    """The first column of `sql`'s row: a count (the services' work queues answer one first)."""
    return lambda conn: conn.fetchval(sql)


async def backlog(settings: Settings, service: str) -> int | None:
    return await _count(settings, service, outbox.backlog)


# Unpublished rows at or below the relay's floor: the relay's reads and `backlog` start above
# it, so these wait for the relay's recheck of the ids its floor passed (shared.relay_gaps).
STRANDED = """
SELECT count(*) FROM outbox WHERE published_at IS NULL AND id <= (SELECT id FROM outbox_floor)
"""


async def stranded(settings: Settings, service: str) -> int | None:
    return await _count(settings, service, _query(STRANDED))


async def pending_mail(settings: Settings) -> int | None:
    return await _count(
        settings, "campaigns", _query("SELECT count(*) FROM messages WHERE status = 'pending'")
    )


async def launching(settings: Settings) -> int | None:
    """Campaigns sent whose recipients campaigns is still finding."""
    return await _count(settings, "campaigns", _query(campaigns_queues.CAMPAIGNS_LAUNCHING))


async def building(settings: Settings) -> int | None:
    """Segments whose full build is still running (a chunk of customers a transaction)."""
    return await _count(settings, "campaigns", _query(campaigns_queues.SEGMENTS_BUILDING))


async def pending_metrics(settings: Settings) -> int | None:
    """Customers whose figures interactions has still to recompute and publish."""
    return await _count(settings, "interactions", _query(interactions_queues.METRICS_PENDING))


async def _lag(settings: Settings, service: str, topics: list[str]) -> int | None:
    if not topics:
        return 0
    try:
        parts = await asyncio.wait_for(consumer_lag(settings.kafka, service, topics), 10)
    except Exception:
        return None
    return sum(p.lag for p in parts)


async def busy_parts(settings: Settings, services: list[str]) -> dict[str, Any]:
    """What is not quiet yet, by service; empty when everything is."""
    busy: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=3) as client:
        for name in services:
            try:
                health = (await client.get(f"{service_url(settings, name)}/healthz")).json()
            except (httpx.HTTPError, ValueError):
                busy[name] = "down"
                continue
            if health.get("status") != "ok" or health.get("consumer") == "joining":
                busy[name] = f"health {health.get('status')}/{health.get('consumer')}"
                continue
            left = await backlog(settings, name)
            lag = await _lag(settings, name, health.get("topics", []))
            if left != 0 or lag != 0:
                busy[name] = {"outbox_backlog": left, "lag": lag}
    if "campaigns" in services and (due := await pending_mail(settings)) != 0:
        busy["campaigns mail pending"] = due
    if "campaigns" in services and (sent := await launching(settings)) != 0:
        busy["campaigns launching"] = sent
    if "campaigns" in services and (unbuilt := await building(settings)) != 0:
        busy["campaigns segments building"] = unbuilt
    if "interactions" in services and (due := await pending_metrics(settings)) != 0:
        busy["interactions metrics pending"] = due
    return busy


async def wait_quiet(
    settings: Settings, services: list[str], timeout: float, broker_restarted: bool
) -> Quiet:
    started = time.monotonic()
    quiet = Quiet()
    if broker_restarted:  # the embedded broker keeps its log in memory: republish
        quiet.replayed = await replay(settings, services, None)
    calm_rounds = 0
    while time.monotonic() - started < timeout:
        quiet.last = await busy_parts(settings, services)
        calm_rounds = calm_rounds + 1 if not quiet.last else 0
        if calm_rounds >= 2:
            quiet.reached = True
            break
        await asyncio.sleep(POLL_S)
    quiet.waited_s = round(time.monotonic() - started, 1)
    return quiet
