"""CPU time of the stack's components, for the bench and the profiler."""

from __future__ import annotations

from typing import Any

import psutil


class CpuMeter:
    """CPU seconds per component of the stack between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.before: dict[str, float] = {}

    def _cpu(self, proc: psutil.Process) -> float:
        """The tree's CPU: each live process's own, plus what its children that have exited
        used (their parent reaped them; PostgreSQL's backends come and go with connections)."""
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def start(self) -> None:
        self.before = {n: self._cpu(p) for n, p in self.procs.items()}

    def stop(self, seconds: float, digits: int = 2) -> dict[str, float]:
        return {
            n: round((self._cpu(p) - self.before[n]) / seconds, digits)
            for n, p in self.procs.items()
        }


class MachineMeter:
    """How busy the whole machine was since this was made: every process counts, the kernel's
    threads and interrupts too."""

    def __init__(self) -> None:
        self.before = psutil.cpu_times()

    def busy_share(self) -> float:
        return busy_share(self.before, psutil.cpu_times())


def busy_share(before: Any, after: Any) -> float:
    """The share of the CPU time between two `psutil.cpu_times()` that was busy, not idle or
    waiting on I/O. Time stolen by the hypervisor was no one's here, and guest time is already
    in user time, so neither counts."""
    spent = {f: getattr(after, f) - getattr(before, f) for f in after._fields if f not in _NOT_OURS}
    total = sum(spent.values())
    idle = spent["idle"] + spent.get("iowait", 0.0)
    return round(1 - idle / total, 2) if total > 0 else 0.0


_NOT_OURS = frozenset({"steal", "guest", "guest_nice"})


def us_per_event(cores: dict[str, float], span_s: float, events: int) -> dict[str, float]:
    """CPU µs per event of each component: events cost their CPU during the load and during
    the drain after it, so `span_s` covers both."""
    return {name: used * span_s * 1e6 / max(1, events) for name, used in cores.items()}
