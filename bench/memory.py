"""Memory of the stack's components, for the bench: what each one holds, and its peak.

A component's figure is the proportional set size (PSS) of its process tree: PostgreSQL's
backends share its buffers, and PSS counts a shared page once across them (RSS would count it
in every backend)."""

from __future__ import annotations

import asyncio
import contextlib

import psutil

MB = 1024 * 1024


def pss_mb(proc: psutil.Process) -> float:
    """The process tree's PSS in MiB (0 for a process that is gone)."""
    total = 0
    for p in [proc, *_children(proc)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_full_info().pss
    return total / MB


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


class MemorySampler:
    """Samples every component's PSS every `interval_s` while running; keeps the peaks."""

    def __init__(self, pids: dict[str, int], interval_s: float = 2.0) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval_s = interval_s
        self.peak_mb: dict[str, float] = dict.fromkeys(self.procs, 0.0)
        self.peak_total_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, float]:
        now = {name: pss_mb(proc) for name, proc in self.procs.items()}
        for name, mb in now.items():
            self.peak_mb[name] = max(self.peak_mb[name], mb)
        self.peak_total_mb = max(self.peak_total_mb, sum(now.values()))
        return now

    async def _run(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)  # reading smaps must not stall the load
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Stops sampling; returns a last sample (MiB per component)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.sample()


def rounded(figures: dict[str, float]) -> dict[str, int]:
    return {name: round(mb) for name, mb in figures.items()}
