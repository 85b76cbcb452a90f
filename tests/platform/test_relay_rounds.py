"""The relay's rounds: commits that come faster than `round_interval_s` go out together, a
backlog goes out without waiting between full batches, and a commit after a quiet spell goes out
at once."""

from __future__ import annotations

import asyncio

from tests.platform.relays import RunningRelay, all_published, commit_and_notify, rows_on
from tests.support.events import eventually

POLL_S = 60.0  # far longer than the tests wait: only wake-ups publish


async def test_commits_faster_than_the_interval_go_out_in_few_rounds(infra):
    async with RunningRelay(
        infra, "relay_rounds_spaced", poll_interval=POLL_S, round_interval_s=0.25
    ) as running:
        await asyncio.sleep(0.5)  # elected, listening
        for row in rows_on(running.topic, 40):  # one commit every ~10 ms, each waking the relay
            await commit_and_notify(running.pool, [row])
            await asyncio.sleep(0.01)
        await eventually(lambda: all_published(running.pool), timeout=10)
        # ~0.5 s of commits: a round every 0.25 s at most, not a round a commit
        assert 1 < running.relay.rounds <= 6, running.relay.rounds


async def test_a_backlog_goes_out_without_waiting_between_full_batches(infra):
    # an interval far longer than the wait: three full batches, then the rest, with no pause
    async with RunningRelay(
        infra,
        "relay_rounds_backlog",
        backlog=35,
        poll_interval=POLL_S,
        round_interval_s=60.0,
        batch_size=10,
    ) as running:
        await eventually(lambda: all_published(running.pool), timeout=10)
        assert running.relay.rounds == 4


async def test_a_commit_after_a_quiet_spell_goes_out_at_once(infra):
    async with RunningRelay(
        infra, "relay_rounds_quiet", poll_interval=POLL_S, round_interval_s=60.0
    ) as running:
        await asyncio.sleep(0.5)  # elected; its first rounds found nothing
        await commit_and_notify(running.pool, rows_on(running.topic, 1))
        await eventually(lambda: all_published(running.pool), timeout=10)  # not 60 s later
        assert running.relay.rounds == 1
