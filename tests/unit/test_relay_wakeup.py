"""RelayWakeup's coalescing: pokes while a NOTIFY is in flight make exactly one more."""

from __future__ import annotations

import asyncio

from shared.outbox import RelayWakeup


class SlowPool:
    def __init__(self) -> None:
        self.sent = 0
        self.release = asyncio.Event()

    async def execute(self, query: str) -> None:
        await self.release.wait()
        self.release.clear()
        self.sent += 1


async def test_a_burst_of_pokes_costs_two_notifies_and_the_last_poke_is_covered():
    pool = SlowPool()
    wakeup = RelayWakeup(pool)  # type: ignore[arg-type]
    wakeup.poke()
    await asyncio.sleep(0)
    for _ in range(50):  # commits while the first NOTIFY is in flight
        wakeup.poke()
    pool.release.set()
    await asyncio.sleep(0.01)
    pool.release.set()
    await asyncio.sleep(0.01)
    assert pool.sent == 2
    assert wakeup._task is not None and wakeup._task.done()
    wakeup.poke()  # idle again: a new poke sends at once
    pool.release.set()
    await asyncio.sleep(0.01)
    assert pool.sent == 3
