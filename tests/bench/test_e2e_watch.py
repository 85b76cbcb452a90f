"""The end-to-end probe reads the timeline only while one of its calls is accepted and not seen
yet: the reads are load on the stack it measures."""

from __future__ import annotations

import asyncio
import time

from bench.e2e import watch


async def test_reads_only_while_a_call_is_unseen_and_notes_when_it_shows():
    accepted: dict[str, float] = {}
    seen: dict[str, float] = {}
    timeline: list[dict[str, str]] = []
    reads = 0
    stop = asyncio.Event()

    async def read() -> list[dict[str, str]]:
        nonlocal reads
        reads += 1
        return list(timeline)

    watcher = asyncio.create_task(watch(read, accepted, seen, stop, every=0.005))
    await asyncio.sleep(0.1)
    assert reads == 0  # nothing accepted: nothing read

    accepted["Probe a"] = time.perf_counter()
    await asyncio.sleep(0.05)
    assert reads > 0 and "Probe a" not in seen  # accepted, not visible yet: read until it is
    timeline.append({"name": "Probe a"})
    await asyncio.sleep(0.05)
    assert seen["Probe a"] >= accepted["Probe a"]

    reads_when_seen = reads
    await asyncio.sleep(0.1)
    assert reads == reads_when_seen  # seen: the reads stop

    accepted["Probe b"] = time.perf_counter()
    timeline.insert(0, {"name": "Probe b"})
    await asyncio.sleep(0.05)
    stop.set()
    await watcher
    assert set(seen) == {"Probe a", "Probe b"} and reads == reads_when_seen + 1
