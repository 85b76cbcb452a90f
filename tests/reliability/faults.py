"""The seeded fault schedule and its injection into the stack's real processes."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from tests.reliability.context import RunContext
from tests.reliability.load_mail import CampaignLoad
from tests.reliability.load_web import TrackingLoad
from tests.support.faults import signal_tree

KILL, MID_BATCH, MID_SEND = "kill", "kill-mid-batch", "kill-mid-send"
FREEZE_BROKER, RESTART_PG, KILL_GATEWAY = "freeze-broker", "restart-postgres", "kill-gateway"
WAIT_FOR_RESTART_S = 45.0
SETTLED_S = 5.0  # a part is faulted again only once it has been up this long


@dataclass
class Fault:
    at_s: float  # planned offset from the start of the load
    kind: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
    injected_at_s: float | None = None
    pid: int | None = None
    error: str | None = None


def plan(rng: random.Random, count: int, services: list[str], duration: float) -> list[Fault]:
    """Every kind at least once when `count` allows (each service killed, mid-batch, mid-send,
    the broker frozen, PostgreSQL restarted, the gateway killed); the rest drawn at random.
    Times are spread over the load with jitter; the last fault lands before 85% of it."""
    must = [(KILL, s) for s in services]
    must += [(MID_BATCH, "interactions")] if "interactions" in services else []
    must += [(MID_SEND, "campaigns")] if "campaigns" in services else []
    must += [(FREEZE_BROKER, "broker"), (RESTART_PG, "postgres"), (KILL_GATEWAY, "gateway")]
    extra = [*must, (FREEZE_BROKER, "broker"), *[(KILL, s) for s in services]]
    kinds = rng.sample(must, min(count, len(must)))
    while len(kinds) < count:
        kinds.append(rng.choice(extra))
    rng.shuffle(kinds)
    span = duration * 0.8
    return [
        Fault(round(0.05 * duration + span * (i + rng.random()) / count, 2), kind, target)
        for i, (kind, target) in enumerate(kinds)
    ]


class Injector:
    def __init__(
        self,
        ctx: RunContext,
        rng: random.Random,
        tracking: TrackingLoad | None,
        campaigns: CampaignLoad | None,
    ) -> None:
        self.ctx = ctx
        self.rng = rng
        self.tracking = tracking
        self.campaigns = campaigns
        self.tasks: list[asyncio.Task[Any]] = []

    async def run(self, faults: list[Fault], started: float) -> None:
        for fault in faults:
            await asyncio.sleep(max(0.0, started + fault.at_s - time.monotonic()))
            fault.injected_at_s = round(time.monotonic() - started, 2)
            try:
                await self.inject(fault)
            except Exception as exc:  # a fault that could not be injected is reported
                fault.error = repr(exc)

    async def inject(self, fault: Fault) -> None:
        rng = self.rng
        if fault.kind == FREEZE_BROKER:
            seconds = round(rng.uniform(3.0, 8.0), 1)
            fault.detail["frozen_s"] = seconds
            fault.pid = await self._pid("broker")
            signal_tree(fault.pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(seconds)
            finally:
                signal_tree(fault.pid, signal.SIGCONT)
        elif fault.kind == RESTART_PG:
            how = rng.choice(["SIGINT", "SIGKILL"])
            fault.detail["signal"] = how
            fault.pid = await self._pid("postgres")
            if how == "SIGINT":  # fast shutdown; the supervisor starts it again
                os.kill(fault.pid, signal.SIGINT)
            else:  # a crash: every backend dies at once, crash recovery on restart
                signal_tree(fault.pid, signal.SIGKILL)
        elif fault.kind == MID_BATCH:
            await self._kill_during(fault, self._big_batch(), rng.uniform(0.0, 0.08))
        elif fault.kind == MID_SEND:
            await self._kill_during(fault, self._campaign_send(), rng.uniform(0.3, 2.5))
        else:
            await self._kill(fault)

    async def _pid(self, name: str) -> int:
        """The pid of a part that has been up for `SETTLED_S`; a part still restarting
        (supervisor backoff) or just restarted is awaited. Faults delayed while their target was
        down would otherwise land back to back on a process still starting, a crash loop the
        supervisor answers with its longest backoff, not the fault each one is meant to be."""
        deadline = time.monotonic() + WAIT_FOR_RESTART_S
        while (pid := self.ctx.stack.pids().get(name)) is None or _uptime(pid) < SETTLED_S:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back within {WAIT_FOR_RESTART_S}s")
            await asyncio.sleep(0.2)
        return pid

    async def _kill(self, fault: Fault) -> None:
        """SIGKILL the part's whole process group: a service run with several uvicorn workers
        dies as a whole, as a crashed host would take it."""
        fault.pid = await self._pid(fault.target)
        os.killpg(fault.pid, signal.SIGKILL)

    async def _kill_during(self, fault: Fault, work: Any, delay: float) -> None:
        self.tasks.append(asyncio.ensure_future(work))
        await asyncio.sleep(delay)
        fault.detail["after_s"] = round(delay, 3)
        await self._kill(fault)

    async def _big_batch(self) -> None:
        if self.tracking is not None:
            await self.tracking.send_batch(300)

    async def _campaign_send(self) -> None:
        if self.campaigns is not None:
            await self.campaigns.send_one()

    async def finish(self) -> None:
        """Wait for the work started by faults (it keeps retrying until answered)."""
        await asyncio.gather(*self.tasks, return_exceptions=True)


def describe(faults: list[Fault]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(f).items() if v not in (None, {})} for f in faults]


def _uptime(pid: int) -> float:
    try:
        return time.time() - psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return 0.0
