"""Vacuum debt: what PostgreSQL still owes the rows a load left behind.

Overload steps leave hundreds of thousands of new rows and dead outbox versions; autovacuum
works them off over the next minute on the same two cores, and a phase measuring latency at a
steady rate would inherit that from the phases before it. The bench pays the debt explicitly
between phases and reports what it cost per event, so the cost is counted, not hidden.
"""

from __future__ import annotations

import time

import asyncpg

from bench.cpu import CpuMeter


async def vacuum_all(dsns: list[str], postgres_pid: int) -> tuple[float, float]:
    """`VACUUM (ANALYZE)` each database in turn: (seconds, PostgreSQL's CPU seconds)."""
    meter = CpuMeter({"postgres": postgres_pid})
    meter.start()
    started = time.perf_counter()
    for dsn in dsns:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()
    seconds = time.perf_counter() - started
    return seconds, meter.stop(1.0)["postgres"]
