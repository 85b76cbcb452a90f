"""The embedded broker's memory watch warns once per threshold, the next at a doubling, and says
nothing while there is no broker process."""

from __future__ import annotations

import asyncio
import contextlib
import os

from structlog.testing import capture_logs

from ecrm.embedded.broker import watch_memory


async def _watch_for(pid: int | None, warn_mb: int, seconds: float = 0.2) -> list[dict]:
    with capture_logs() as logs:
        task = asyncio.create_task(watch_memory(lambda: pid, warn_mb, interval_s=0.01))
        await asyncio.sleep(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return [e for e in logs if e["event"] == "broker.memory_high"]


async def test_one_warning_per_threshold_passed_then_none_until_the_next_doubling():
    (warned,) = await _watch_for(os.getpid(), 1)  # this process is far past 1 MB
    assert warned["log_level"] == "warning" and warned["warn_mb"] == 1
    assert warned["rss_mb"] >= 1 and "ecrm replay" in warned["advice"]


async def test_nothing_below_the_threshold_or_without_a_broker():
    assert await _watch_for(os.getpid(), 1_000_000) == []
    assert await _watch_for(None, 1) == []
