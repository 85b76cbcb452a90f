"""A step's two verdicts: its burst was absorbed (drained in time), and its lag stayed bounded
(the backlog at its end was at most a second of the rate)."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from bench import ingest
from bench.ingest import StepResult, not_applied_by_all
from shared.kafka_admin import PartitionLag
from tests.bench.batch_server import serve_batches


def _step(backlog: int, drain_s: float | None = 1.0, errors: int = 0) -> StepResult:
    step = StepResult(10_000, accepted_events=100_000, errors=errors, elapsed_s=10.0)
    step.backlog_after, step.drain_s = backlog, drain_s
    return step


@pytest.mark.parametrize(
    ("backlog", "drain_s", "errors", "kept_up", "bounded"),
    [
        (3_000, 0.4, 0, True, True),
        (10_000, 1.2, 0, True, True),  # exactly one second of the rate
        (55_000, 6.0, 0, True, False),  # absorbed, but the consumers fell behind
        (90_000, None, 0, False, False),  # not drained within the timeout
        (1_000, 0.2, 1, False, False),  # one error fails a step
    ],
)
def test_verdicts(backlog, drain_s, errors, kept_up, bounded):
    step = _step(backlog, drain_s, errors)
    assert (step.kept_up, step.lag_bounded) == (kept_up, bounded)


def test_the_backlog_counts_an_event_once_however_many_groups_have_not_applied_it():
    lags = [
        PartitionLag("campaigns", "t", 0, committed=90, end=100),  # 10 behind
        PartitionLag("analytics", "t", 0, committed=70, end=100),  # 30 behind: the slowest
        PartitionLag("sales", "t", 0, committed=100, end=100),
        PartitionLag("campaigns", "t", 1, committed=-1, end=5),  # nothing committed yet
        PartitionLag("analytics", "t", 1, committed=3, end=5),
    ]
    assert not_applied_by_all(lags) == 30 + 5


async def test_the_generators_cpu_is_counted_while_the_load_runs_only(monkeypatch):
    """Its bodies are made before the load starts, when the stack is idle: counting that CPU
    overstated how much of the machine the generator takes from the stack under load."""

    def bodies_made_slowly(count: int, size: int, seed: int, *_: object) -> list:
        spent = time.process_time()
        while time.process_time() - spent < 0.3:  # CPU, as making real bodies costs
            pass
        return [b'{"batch": []}'] * count

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"success": True})

    runner, url = await serve_batches(accept)
    monkeypatch.setattr(ingest, "prepare_bodies", bodies_made_slowly)
    try:
        result = await ingest.open_loop(url, "key", 100, 0.5, size=10)
    finally:
        await runner.cleanup()
    assert result.accepted_events == 50 and result.errors == 0
    assert 0 < result.sending_cpu_s < 0.3
