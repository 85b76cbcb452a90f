"""One chaos run: load on every channel the build has, faults on a seeded schedule, quiet,
then every invariant that applies to the services present."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.reliability import client, invariants
from tests.reliability.checks import Check
from tests.reliability.context import RunContext
from tests.reliability.faults import Fault, Injector, describe, plan
from tests.reliability.load_mail import CampaignLoad, InboundMailLoad
from tests.reliability.load_people import CustomerLoad
from tests.reliability.load_web import OrderLoad, TrackingLoad
from tests.reliability.poison import send_poison
from tests.reliability.settle import Quiet, wait_quiet

SCORING_RULES = [
    {"event": "Product Viewed", "points": 5},
    {"order": "placed", "points": 20},
    {"page": "/pricing", "points": 3, "decay_per_day": 1},
]


@dataclass
class Outcome:
    faults: list[Fault] = field(default_factory=list)
    quiet: Quiet | None = None
    checks: list[Check] = field(default_factory=list)
    dlq_per_topic: dict[str, int] = field(default_factory=dict)
    load_s: float = 0.0


async def setup(ctx: RunContext) -> None:
    if ctx.has("sales"):
        for rule in SCORING_RULES:
            await client.send(
                ctx.client,
                ctx.ledger,
                "setup",
                "POST",
                f"{ctx.url}/api/v1/scoring/rules",
                json=rule,
                headers=ctx.admin,
            )
    await send_poison(ctx, 3)


def workloads(ctx: RunContext) -> tuple[list[Any], TrackingLoad | None, CampaignLoad | None]:
    loops: list[Any] = []
    tracking = campaigns = None
    if ctx.has("interactions"):
        tracking = TrackingLoad(ctx)
        orders = OrderLoad(ctx)
        loops += [tracking.run(), tracking.run(), orders.run()]
    if ctx.has("contacts"):
        loops.append(CustomerLoad(ctx).run())
    if ctx.has("support"):
        loops.append(InboundMailLoad(ctx).run())
    if ctx.has("campaigns") and ctx.has("contacts"):
        campaigns = CampaignLoad(ctx)
        loops.append(_campaign_sends(ctx, campaigns))
    return loops, tracking, campaigns


async def _campaign_sends(ctx: RunContext, campaigns: CampaignLoad) -> None:
    """The segment early on, then a send at about 30% and 65% of the load."""
    if not await ctx.pause(2.0, 3.0):
        return
    await campaigns.create_segment()
    for share in (0.3, 0.65):
        delay = max(0.0, share * ctx.duration - (time.monotonic() - ctx.ledger.started))
        if not await ctx.pause(delay, delay):
            return
        await campaigns.send_one()


async def run(ctx: RunContext, faults: int, settle_timeout: float) -> Outcome:
    outcome = Outcome()
    broker_pid = ctx.stack.pids().get("broker")
    await setup(ctx)
    loops, tracking, campaigns = workloads(ctx)
    targets = [s for s in ctx.services] + ["portal"]
    outcome.faults = plan(random.Random(ctx.seed), faults, targets, ctx.duration)
    injector = Injector(ctx, random.Random(f"{ctx.seed}-inject"), tracking, campaigns)
    started = time.monotonic()
    ctx.ledger.started = started
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    await injector.run(outcome.faults, started)
    await asyncio.sleep(max(0.0, started + ctx.duration - time.monotonic()))
    ctx.stop.set()
    await asyncio.gather(*tasks)
    await injector.finish()
    outcome.load_s = round(time.monotonic() - started, 1)
    restarted = broker_pid is not None and ctx.stack.pids().get("broker") != broker_pid
    outcome.quiet = await wait_quiet(ctx.stack.settings, ctx.services, settle_timeout, restarted)
    outcome.checks, outcome.dlq_per_topic = await invariants.check_all(ctx)
    return outcome


def fault_report(outcome: Outcome) -> list[dict[str, Any]]:
    return describe(outcome.faults)


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
