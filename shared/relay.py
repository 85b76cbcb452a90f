"""Outbox relay: publishes unpublished outbox rows to Kafka in id order, in batches.

One process of a service relays (shared.election: a session advisory lock), so per-key order is
the commit order. It reads and marks rows on the connection that holds the lock, so a relay
whose session ended can no longer mark anything, and it listens there for the NOTIFY that
writers send after their commits (shared.outbox), with a short poll as a fallback. A row is
marked published only after the broker acknowledged it (acks=all); a crash in between publishes
it again, and consumers dedupe by event id. While the broker is away the relay retries with
backoff and the rows wait in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import time

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder

from shared import election, metrics
from shared.cloudevents import headers_for
from shared.db import utc_text
from shared.logging import get_logger
from shared.outbox import LOWERED_FLOOR, NOTIFY_CHANNEL, purge_published
from shared.relay_floor import (
    MARK,
    MARK_PUBLISHED,
    REPLAYS,
    SNAPSHOT_XMIN,
    ReadFloor,
    stored,
)
from shared.relay_gaps import FIRST_UNPUBLISHED, LOWER_BELOW, RECHECK_AFTER_S, PassedIds

log = get_logger(__name__)

# Ids and times as text, formatted by PostgreSQL: the relay only copies them into headers. The
# read starts above the floor (shared.relay_floor) and reports its snapshot's xmin for it.
_SELECT = f"""
SELECT id, event_id::text AS event_id, topic, key, ce_type, subject, data::text AS data,
       {utc_text("occurred_at")} AS ce_time,
       {SNAPSHOT_XMIN} AS snapshot_xmin, {REPLAYS} AS replays
FROM outbox WHERE published_at IS NULL AND id > $2 ORDER BY id LIMIT $1
"""

STATEMENT_TIMEOUT_S = 10  # a stalled server: retry, rather than wait on it for ever
RECHECK_POLL_S = 1.0  # how often ids the floor passed unpublished are looked at (relay_gaps)


def make_producer(bootstrap: str, **overrides: object) -> AIOKafkaProducer:
    options: dict = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": False,  # the embedded broker has no InitProducerId
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        # A batch of 200 tracking events: 99 KB as they are, 19 KB in snappy, for ~0.05 µs of
        # CPU an event; a batch of two costs 4 µs more. The embedded broker keeps every batch
        # in memory as it arrives (RESULTS.md, run 51).
        "compression_type": "snappy",
        "request_timeout_ms": 15000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


@functools.lru_cache(maxsize=65_536)  # keys repeat: customers, visitors
def partition_for(key: bytes, partitions: int) -> int:
    """The Java client's (and aiokafka's) default partition of a key: murmur2, positive, mod n.
    Every publisher of a key uses it, so a customer's events stay on one partition."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class OutboxRelay:
    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        dsn: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 1000,
        poll_interval: float = 0.5,
        round_interval_s: float = 0.0,
        retention_hours: int = 168,
        recheck_after_s: tuple[float, ...] = RECHECK_AFTER_S,
    ) -> None:
        self.service = service
        self.pool = pool
        self.dsn = dsn
        self.producer = producer
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.round_interval_s = round_interval_s
        self.rounds = 0  # rounds that published rows
        self._published_at = -math.inf  # when the last such round began (monotonic)
        self.retention_hours = retention_hours
        self.recheck_after_s = recheck_after_s
        self.source = f"/ecrm/{service}"
        self._wake = asyncio.Event()
        self._lock_key = f"outbox-relay:{service}"
        self.floor = ReadFloor(enabled=False)
        self.passed = PassedIds(recheck_after_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay while elected; stand by while another process is (or until it is gone)."""
        while not stop.is_set():
            conn = await election.win(self.dsn, self._lock_key, stop)
            if conn is None:
                return
            log.info("relay.elected", service=self.service, pid=os.getpid())
            try:
                await self._relay_on(conn, stop)
            except Exception as exc:  # its session, and with it the lock, is gone
                log.warning("relay.session_lost", error=repr(exc))
                await election.sleep_or_stop(stop, election.RETRY_S)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _relay_on(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        # The stored floor: a replay while no session listened has lowered it.
        self.floor, self.passed = await stored(conn), PassedIds(self.recheck_after_s)
        if not self.floor.enabled:
            log.warning("relay.floor_disabled", reason="outbox_id_seq caches or cycles")
        await conn.add_listener(NOTIFY_CHANNEL, self._notified)
        checks = asyncio.create_task(self._recheck_passed_ids(stop))
        try:
            await self._publish_while_elected(conn, stop)
        finally:
            checks.cancel()
            await asyncio.gather(checks, return_exceptions=True)

    async def _publish_while_elected(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        # A mark lost in a crash only publishes its rows again, which consumers dedupe: the
        # relay need not wait for the WAL flush, and the writers' commits do not queue behind it.
        await conn.execute("SET synchronous_commit = off")
        backoff = 0.2
        while not stop.is_set():
            # Cleared before the read, not after the publish: a wake-up for a commit the read
            # missed (it arrives while the batch goes out) must not be lost to the next poll.
            self._wake.clear()
            began = time.monotonic()
            try:
                sent = await self.publish_pending(conn)
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or the database away: wait, then try again
                if conn.is_closed():
                    raise  # the session is gone: another process may be relaying already
                metrics.RELAY_ERRORS.labels(self.service).inc()
                log.warning("relay.retry", error=repr(exc), backoff_s=backoff)
                await election.sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent:
                self._published_at = began
            if sent < self.batch_size:
                await self._wait_for_work()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._wake.set()
        if payload.startswith(LOWERED_FLOOR):
            self.floor.lower_to(int(payload.removeprefix(LOWERED_FLOOR)))

    async def _recheck_passed_ids(self, stop: asyncio.Event) -> None:
        """Look up the ids the floor rose over unpublished (shared.relay_gaps), on a pooled
        connection; lower the floor under any that has become an unpublished row."""
        while not stop.is_set():
            await election.sleep_or_stop(stop, RECHECK_POLL_S)
            ids = self.passed.due(time.monotonic())
            if not ids:
                continue
            try:
                first = await self.pool.fetchval(
                    FIRST_UNPUBLISHED, ids, timeout=STATEMENT_TIMEOUT_S
                )
                if first is None:
                    continue
                floor = await self.pool.fetchval(LOWER_BELOW, first, timeout=STATEMENT_TIMEOUT_S)
            except Exception as exc:  # the database away: these ids come back at their next look
                log.warning("relay.recheck_failed", error=repr(exc))
                continue
            log.error("relay.unpublished_below_floor", row=first, lowered_to=floor)
            metrics.RELAY_FLOOR_PASSED.labels(self.service).inc()
            self.floor.lower_to(floor)

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        """Publish one batch; returns how many rows were published. `conn` holds the lock."""
        floor = self.floor
        rows = await conn.fetch(
            _SELECT, self.batch_size, floor.start(), timeout=STATEMENT_TIMEOUT_S
        )
        if not rows:
            return 0
        await self._send(rows)
        first, last = rows[0], rows[-1]["id"]
        covered = floor.covered(last, len(rows) == self.batch_size, first["snapshot_xmin"])
        ids = [r["id"] for r in rows]
        await conn.execute(
            MARK_PUBLISHED,
            ids,
            covered,
            first["replays"],
            timeout=STATEMENT_TIMEOUT_S,
        )
        risen_from = floor.id
        floor.raise_to(covered)
        self.passed.published(ids)
        self.passed.floor_rose(risen_from, floor.id, time.monotonic())
        metrics.RELAY_PUBLISHED.labels(self.service).inc(len(rows))
        metrics.RELAY_ROUNDS.labels(self.service).inc()
        self.rounds += 1
        if floor.needs_mark():  # for the next read, which comes after the writes under way
            mark = await conn.fetchrow(MARK, timeout=STATEMENT_TIMEOUT_S)
            floor.note_mark(mark["last_id"], mark["xid"])
        return len(rows)

    async def _send(self, rows: list[asyncpg.Record]) -> None:
        """One record batch per partition (in id order within it), not one `send` per row:
        the per-record cost of the producer was most of the relay's time."""
        open_batches: dict[tuple[str, int], BatchBuilder] = {}
        partitions: dict[str, int] = {}
        futures = []
        for r in rows:
            topic, key = r["topic"], r["key"].encode()
            if topic not in partitions:
                partitions[topic] = len(await self.producer.partitions_for(topic))
            partition = partition_for(key, partitions[topic])
            headers = headers_for(
                r["event_id"], r["ce_type"], self.source, r["ce_time"], r["subject"]
            )
            value = r["data"].encode()
            batch = open_batches.get((topic, partition))
            if (
                batch is None
                or batch.append(key=key, value=value, timestamp=None, headers=headers) is None
            ):
                if batch is not None:  # full: send it, start the next one
                    futures.append(
                        await self.producer.send_batch(batch, topic, partition=partition)
                    )
                batch = open_batches[(topic, partition)] = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for (topic, partition), batch in open_batches.items():
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    async def purge(self) -> int:
        async with self.pool.acquire() as conn:
            return await purge_published(conn, self.retention_hours)

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        # Rounds that publish come at most one per `round_interval_s`: under load, the commits of
        # that interval go out together. The embedded broker stores each record batch apart and
        # each fetch lists a partition's batches, so fewer rounds cost every stage less
        # (bench/RESULTS.md, "The relay's rounds spaced"). A commit after a quiet spell still
        # goes out at once; a full batch (a backlog) does not wait at all.
        await asyncio.sleep(max(0.0, self._published_at + self.round_interval_s - time.monotonic()))
