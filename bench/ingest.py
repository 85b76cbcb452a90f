"""Tracking ingestion, open loop: batches of 100 sent on a fixed schedule, whatever the replies.

Latency is measured from the scheduled send time (no coordinated omission). A rate "keeps up"
when the replies keep up and the pipeline behind them (outbox backlog + the lag of every
consumer group of the interaction stream) stays bounded and drains.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import asyncpg
import orjson

from bench.loadclient import FAILURES, LoadClient, post_request
from bench.payloads import VISITORS, batch
from shared import outbox
from shared.kafka_admin import PartitionLag, consumer_lag

BOUNDED_LAG_S = 1.0


@dataclass
class StepResult:
    target_events_per_s: float
    sent_events: int = 0
    accepted_events: int = 0
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)  # status and problem, or exception
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    sending_cpu_s: float = 0.0  # this process's CPU while the load ran (bodies made before)
    backlog_after: int = 0
    drain_s: float | None = None

    @property
    def achieved_events_per_s(self) -> float:
        return self.accepted_events / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def kept_up(self) -> bool:
        """The step's burst was absorbed: answered without error, and its backlog drained
        within the drain timeout (10 s) after it."""
        return (
            self.errors == 0
            and self.achieved_events_per_s >= 0.95 * self.target_events_per_s
            and self.drain_s is not None
        )

    @property
    def lag_bounded(self) -> bool:
        """The pipeline kept pace during the step: at its end, the backlog (unpublished outbox
        rows and the lag of every consumer group) was at most BOUNDED_LAG_S of the rate. Above
        the sustainable rate it grows for as long as the step lasts."""
        return self.kept_up and self.backlog_after <= BOUNDED_LAG_S * self.target_events_per_s


def prepare_bodies(
    count: int, size: int, seed: int, sign_ins: float = 0.0, visitors: int = VISITORS
) -> list[bytes]:
    rng = random.Random(seed)
    return [
        orjson.dumps(batch(size, rng, visitors=visitors, sign_ins=sign_ins)) for _ in range(count)
    ]


async def open_loop(
    url: str,
    write_key: str,
    rate: float,
    seconds: float,
    size: int = 100,
    seed: int = 1,
    sign_ins: float = 0.0,
    visitors: int = VISITORS,
) -> StepResult:
    result = StepResult(rate)
    batches = max(1, int(rate * seconds / size))
    headers = {"Content-Type": "application/json", "Authorization": basic_auth(write_key)}
    requests = [
        post_request(url, "/v1/batch", headers, body)
        for body in prepare_bodies(batches, size, seed, sign_ins, visitors)
    ]
    interval = size / rate
    client = LoadClient(url)
    started, cpu_at_start = time.perf_counter(), time.process_time()

    async def send(i: int, request: bytes) -> None:
        scheduled = started + i * interval
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        try:
            answer = await client.send(request)
            outcome = str(answer.status)
            if answer.status != 200:  # which one: a problem document names it
                outcome += f" {_problem_title(answer.body)}"
        except FAILURES as exc:
            outcome = type(exc).__name__
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        if outcome == "200":
            result.accepted_events += size
        else:
            result.errors += 1
            result.error_kinds[outcome] += 1

    try:
        await asyncio.gather(*(send(i, request) for i, request in enumerate(requests)))
    finally:
        client.close()
    result.elapsed_s = time.perf_counter() - started
    result.sending_cpu_s = time.process_time() - cpu_at_start
    result.sent_events = batches * size
    return result


def _problem_title(answer: bytes) -> str:
    try:
        document = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return answer[:60].decode("utf-8", "replace")
    title = document.get("title", "") if isinstance(document, dict) else ""
    detail = document.get("detail", "") if isinstance(document, dict) else ""
    return f"{title}: {detail}"[:120]


def basic_auth(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Stream(NamedTuple):
    topic: str
    groups: tuple[str, ...]  # every consumer group reading the topic


INTERACTIONS = Stream("ecrm.interactions.interaction", ("campaigns", "sales", "analytics"))
VISITORS = Stream("ecrm.interactions.visitor", ("analytics",))
# What tracking publishes: the load's anonymous calls are visitors' touches, the e2e probe's
# identified calls customers' touches.
TRACKING = (VISITORS, INTERACTIONS)


async def pipeline_backlog(dsn: str, bootstrap: str, streams: tuple[Stream, ...] = TRACKING) -> int:
    """Events accepted (in the outbox of `dsn`'s service) but not yet applied by every consumer
    group of the streams."""
    conn = await asyncpg.connect(dsn)
    try:
        unpublished = await outbox.backlog(conn)
    finally:
        await conn.close()
    lags = await asyncio.gather(
        *(consumer_lag(bootstrap, g, [s.topic]) for s in streams for g in s.groups)
    )
    return unpublished + not_applied_by_all(p for lag in lags for p in lag)


def not_applied_by_all(lags: Iterable[PartitionLag]) -> int:
    """Published events some group has not applied yet: per partition, the slowest group's lag.
    Every group reads the same records, so their lags overlap; they do not add up."""
    slowest: dict[tuple[str, int], int] = {}
    for p in lags:
        key = (p.topic, p.partition)
        slowest[key] = max(slowest.get(key, 0), p.lag)
    return sum(slowest.values())


async def wait_drained(
    dsn: str, bootstrap: str, timeout: float, streams: tuple[Stream, ...] = TRACKING
) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if await pipeline_backlog(dsn, bootstrap, streams) == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    return None


async def step(
    url: str,
    write_key: str,
    dsn: str,
    bootstrap: str,
    rate: float,
    seconds: float,
    drain_timeout: float = 10.0,
) -> StepResult:
    result = await open_loop(url, write_key, rate, seconds, seed=int(rate))
    result.backlog_after = await pipeline_backlog(dsn, bootstrap)
    result.drain_s = await wait_drained(dsn, bootstrap, drain_timeout)
    return result
