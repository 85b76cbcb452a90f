"""The relay's read starts above the rows it has published (shared.relay_floor), and never above
a row that can still appear: one whose transaction is still open, one queued for publishing
again (`ecrm replay`), even while the relay's session was away."""

from __future__ import annotations

import asyncio

import asyncpg
from prometheus_client import REGISTRY

from shared import outbox, relay_floor, relay_gaps
from shared.relay_floor import MARK_PUBLISHED
from tests.platform import relays
from tests.platform.relays import all_published, relay_database, rows_on
from tests.support.events import eventually, read_topic

STORED_FLOOR = "SELECT id FROM outbox_floor"
RELAY_SESSION = """
SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND ((classid::bigint << 32) | objid::bigint) = hashtext($1)::bigint
"""


async def _write(pool: asyncpg.Pool, topic: str, count: int) -> list[int]:
    """Commit `count` rows in one transaction; their ids."""
    async with pool.acquire() as conn, conn.transaction():
        event_ids = await outbox.add_rows(conn, rows_on(topic, count))
        rows = await conn.fetch(
            "SELECT id FROM outbox WHERE event_id = ANY($1::uuid[]) ORDER BY id", event_ids
        )
    return [r["id"] for r in rows]


class RunningRelay(relays.RunningRelay):
    def __init__(self, infra, name: str, recheck_after_s: tuple[float, ...] = (300.0,)) -> None:  # type: ignore[no-untyped-def]
        super().__init__(infra, name, recheck_after_s=recheck_after_s)

    async def published_rounds(self, rounds: int, count: int = 10) -> list[int]:
        """Commit rows `rounds` times, each time until the relay has published them. The floor
        rises on a read that finds rows (to the mark taken after the previous such read): by
        the last round it is past every round but the last."""
        ids: list[int] = []
        for _ in range(rounds):
            ids += await _write(self.pool, self.topic, count)
            await eventually(lambda: all_published(self.pool), timeout=10)
        return ids

    async def terminate_session(self) -> int:
        """End the relay's session (as a lost connection does); the pid it had."""
        [holder] = await self.pool.fetch(RELAY_SESSION, f"outbox-relay:{self.name}")
        await self.pool.execute("SELECT pg_terminate_backend($1)", holder["pid"])
        return holder["pid"]

    async def new_session_after(self, old_pid: int) -> None:
        async def elected() -> bool:
            holders = await self.pool.fetch(RELAY_SESSION, f"outbox-relay:{self.name}")
            return bool(holders) and holders[0]["pid"] != old_pid

        await eventually(elected, timeout=15)
        await asyncio.sleep(0.2)  # past reading its floor

    async def floor_reaches(self, row_id: int) -> None:
        async def reached() -> bool:
            return self.relay.floor.id >= row_id

        await eventually(reached, timeout=10)


async def test_the_floor_rises_past_published_rows_but_not_past_an_open_transaction(infra):
    async with RunningRelay(infra, "relay_floor_open") as running:
        pool, topic, relay = running.pool, running.topic, running.relay
        first = await running.published_rounds(5)
        await running.floor_reaches(first[-11])

        straggler = rows_on(topic, 1)
        async with pool.acquire() as conn:
            slow = conn.transaction()
            await slow.start()
            try:
                await outbox.add_rows(conn, straggler)  # its id is taken; it commits last
                held = await conn.fetchval("SELECT max(id) FROM outbox")
                later = await running.published_rounds(5)
                assert min(later) > held
                assert relay.floor.id < held, "the floor passed a row that may still commit"
                assert await pool.fetchval(STORED_FLOOR) < held
            finally:
                await slow.commit()

        await eventually(lambda: all_published(pool), timeout=10)
        last = await running.published_rounds(3)
        await running.floor_reaches(last[-11])
        assert await pool.fetchval(STORED_FLOOR) == relay.floor.id  # stored with the marks
        records = [env.id for _, env in await read_topic(infra.bootstrap, topic) if env]
        assert str(straggler[0]["event_id"]) in records
        assert len(records) == len(set(records)) == len(first) + 1 + len(later) + len(last)


async def test_rows_queued_again_are_published_again_even_after_the_session_was_lost(infra):
    async with RunningRelay(infra, "relay_floor_replay") as running:
        pool = running.pool
        ids = await running.published_rounds(3)
        await running.floor_reaches(ids[-11])

        async with pool.acquire() as conn, conn.transaction():
            assert await outbox.mark_for_replay(conn) == len(ids)
            assert await outbox.backlog(conn) == len(ids)  # the floor went below them
        await eventually(lambda: all_published(pool), timeout=10)
        await running.published_rounds(2)
        await running.floor_reaches(ids[-1])

        # A new session starts from the stored floor...
        stored = await pool.fetchval(STORED_FLOOR)
        assert stored >= ids[-1]
        first_session = await running.terminate_session()
        await running.new_session_after(first_session)
        assert running.relay.floor.id == stored

        # ...which a replay while no session listened has lowered below the rows it queued.
        second_session = await running.terminate_session()
        async with pool.acquire() as conn:
            assert await outbox.mark_for_replay(conn) == len(ids) + 20
        await running.new_session_after(second_session)
        await eventually(lambda: all_published(pool), timeout=15)
        records = [env.id for _, env in await read_topic(infra.bootstrap, running.topic) if env]
        assert len(set(records)) == len(ids) + 20
        assert len(records) == 3 * len(ids) + 2 * 20


async def test_an_outbox_id_is_taken_only_after_the_transaction_id(infra):
    """The floor's proof needs it: an insert that took its id before its xid could commit under
    a floor raised by a snapshot that never knew about it."""
    async with RunningRelay(infra, "relay_floor_xid") as running:
        default = await running.pool.fetchval(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef"
            " WHERE adrelid = 'outbox'::regclass AND adnum = 1"
        )
        async with running.pool.acquire() as conn:
            # nextval() itself takes an xid when it logs the sequence ahead (every 32 values):
            # the first value after a fresh start does, the next ones do not.
            await conn.fetchval(f"SELECT {default}")
        async with running.pool.acquire() as conn, conn.transaction():
            assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is None
            taken = await conn.fetchval(f"SELECT {default}")
            assert taken is not None
            assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is not None


async def test_the_mark_asks_the_sequence_instead_of_scanning_it(infra):
    """A scan of the sequence reads its tuple after releasing the buffer lock, and nextval()
    rewrites that tuple in place, for an instant to the value it logs 32 ids ahead: a mark
    taken in that instant raised the floor over ids not handed out yet, and the rows of the
    transaction that took them were left below it (a chaos run, README). Only a plan without a
    scan of `outbox_id_seq` reads the sequence under its lock."""
    _dsn, pool, _topic = await relay_database(infra, "relay_floor_mark")
    try:
        async with pool.acquire() as conn:
            for statement in (relay_floor.MARK, relay_floor._RESET_ABOVE_SEQUENCE):
                plan = await conn.fetch(f"EXPLAIN (VERBOSE, COSTS OFF) {statement}")
                scans = [r[0] for r in plan if "Scan" in r[0] and "outbox_id_seq" in r[0]]
                assert not scans, scans
            before = await conn.fetchrow(relay_floor.MARK)
            taken = await conn.fetchval("SELECT nextval('outbox_id_seq')")
            after = await conn.fetchrow(relay_floor.MARK)
            assert before["last_id"] == taken - 1 and after["last_id"] == taken
            assert after["xid"] > before["xid"]
    finally:
        await pool.close()


async def test_a_read_from_before_a_replay_cannot_raise_the_stored_floor(infra):
    _dsn, pool, topic = await relay_database(infra, "relay_floor_race")
    try:
        ids = await _write(pool, topic, 3)
        async with pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET published_at = now()")
            await conn.execute("UPDATE outbox_floor SET id = $1", ids[-1])  # as a relay would
            seen_by_read = await conn.fetchval("SELECT replays FROM outbox_floor")
            assert await outbox.mark_for_replay(conn) == 3  # after the read, before its marks
            assert await conn.fetchval(STORED_FLOOR) == ids[0] - 1
            await conn.execute(MARK_PUBLISHED, ids, ids[-1], seen_by_read)
            assert await conn.fetchval(STORED_FLOOR) == ids[0] - 1
            await conn.execute(MARK_PUBLISHED, ids, ids[-1], seen_by_read + 1)
            assert await conn.fetchval(STORED_FLOOR) == ids[-1]
    finally:
        await pool.close()


async def test_rows_unpublished_by_hand_below_the_floor_lower_it_at_once(infra):
    """`UPDATE outbox SET published_at = NULL`: the floor goes below the row in the same
    transaction (a trigger), and the relay, told on commit, publishes it again."""
    async with RunningRelay(infra, "relay_floor_by_hand") as running:
        pool = running.pool
        ids = await running.published_rounds(3)
        await running.floor_reaches(ids[-11])
        async with pool.acquire() as conn, conn.transaction():
            replays = await conn.fetchval("SELECT replays FROM outbox_floor")
            await conn.execute("UPDATE outbox SET published_at = NULL WHERE id = $1", ids[0])
            assert await conn.fetchval(STORED_FLOOR) == ids[0] - 1
            assert await conn.fetchval("SELECT replays FROM outbox_floor") == replays + 1
            assert await outbox.backlog(conn) == 1
        await eventually(lambda: all_published(pool), timeout=10)
        more = await running.published_rounds(2)
        await running.floor_reaches(more[-11])
        assert await pool.fetchval(STORED_FLOOR) >= ids[-1]  # lowered, then raised again
        records = [env.id for _, env in await read_topic(infra.bootstrap, running.topic) if env]
        assert len(records) == len(ids) + 1 + len(more)
        assert len(set(records)) == len(ids) + len(more)


async def test_a_row_that_appears_below_the_floor_is_found_and_published(infra):
    """Should the floor ever pass an id before its row commits (the proof failing, as it once
    did), the relay's later look at the ids it passed unpublished finds the row."""
    async with RunningRelay(infra, "relay_floor_passed", recheck_after_s=(0.5, 2.0)) as running:
        pool, topic = running.pool, running.topic
        await running.published_rounds(2)
        skipped = await pool.fetchval("SELECT nextval('outbox_id_seq')")  # no row, for now
        later = await running.published_rounds(3)
        await running.floor_reaches(later[-11])
        assert running.relay.floor.id > skipped
        [row] = rows_on(topic, 1)
        await pool.execute(
            "INSERT INTO outbox (id, event_id, topic, key, ce_type, subject, data)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            skipped, row["event_id"], topic, row["key"], row["ce_type"], row["subject"],
            row["data"],
        )  # fmt: skip

        async def on_the_topic() -> bool:
            records = await read_topic(infra.bootstrap, topic)
            return str(row["event_id"]) in [env.id for _, env in records if env]

        await eventually(on_the_topic, timeout=10)
        assert await all_published(pool)
        reported = {"service": "relay_floor_passed"}
        assert (
            REGISTRY.get_sample_value("ecrm_outbox_floor_passed_unpublished_total", reported) == 1
        )

        # Rows queued again are above the floor they lowered: no failure of the proof to report.
        all_ids = [r["id"] for r in await pool.fetch("SELECT id FROM outbox")]
        async with pool.acquire() as conn:
            undone = conn.transaction()
            await undone.start()
            try:
                await outbox.mark_for_replay(conn)
                assert await conn.fetchval(relay_gaps.FIRST_UNPUBLISHED, all_ids) is None
                await conn.execute("UPDATE outbox_floor SET id = $1", max(all_ids))  # stranded
                assert await conn.fetchval(relay_gaps.FIRST_UNPUBLISHED, all_ids) == min(all_ids)
            finally:
                await undone.rollback()


async def test_a_floor_above_a_reset_sequence_is_reset_when_a_session_starts(infra):
    _dsn, pool, topic = await relay_database(infra, "relay_floor_reset")
    try:
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE outbox RESTART IDENTITY")
            await conn.execute("UPDATE outbox_floor SET id = 1")  # from before the reset
            assert (await relay_floor.stored(conn)).start() == 0
            assert await outbox.backlog(conn) == 0
            await _write(pool, topic, 3)
            assert await outbox.backlog(conn) == 3
    finally:
        await pool.close()


async def test_a_sequence_that_caches_ids_turns_the_floor_off(infra):
    """Each session then hands out ids from its own cached range, out of order in time."""
    _dsn, pool, _topic = await relay_database(infra, "relay_floor_cache")
    try:
        async with pool.acquire() as conn:
            await conn.execute("UPDATE outbox_floor SET id = 0")
            assert (await relay_floor.stored(conn)).enabled
            await conn.execute("ALTER SEQUENCE outbox_id_seq CACHE 20")
            try:
                floor = await relay_floor.stored(conn)
                assert not floor.enabled and not floor.needs_mark()
            finally:
                await conn.execute("ALTER SEQUENCE outbox_id_seq CACHE 1")
    finally:
        await pool.close()
