"""Consuming events: one batch subscriber per service, inbox dedupe, retry, dead letters.

Every service consumes with one group (its name). A batch is applied in one transaction, its
events under one savepoint (on a failure, again with a savepoint per run of events sharing a
handler, to find the failing ones); the offsets are committed only after that transaction commits
(AckPolicy.NACK_ON_ERROR: success commits, an exception rewinds to the batch's first record).

- The database being away is not the event's fault: the batch is retried with backoff and,
  if still failing, rewound for redelivery. Nothing is dead-lettered for it.
- An event whose handler raises anything else is retried a few times on its own, then parked
  on `<topic>.dlq` with the error in headers; the partition keeps moving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import inbox, metrics
from shared.cloudevents import Envelope, MalformedEvent
from shared.db import UNAVAILABLE
from shared.logging import get_logger

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[Envelope]], Awaitable[None]]


Wanted = Callable[[Envelope], bool]
Run = tuple["Route", list[Envelope]]


@dataclass(frozen=True)
class Route:
    handler: Callable[..., Awaitable[None]]
    batch: bool  # True: handler(conn, [envelopes]); False: handler(conn, envelope)
    # A cheap test on the envelope: events it refuses are skipped before any database work
    # (no inbox row, no transaction). For handlers that would ignore them anyway.
    when: Wanted | None = None

    def wants(self, env: Envelope) -> bool:
        return self.when is None or self.when(env)

    async def apply(self, conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        if self.batch:
            await self.handler(conn, envs)
        else:
            for env in envs:
                await self.handler(conn, env)


def names_a_customer(env: Envelope) -> bool:
    """For `when=`: the event names a known customer (anonymous touches do not)."""
    return bool(env.data.get("customer_id"))


class EventDispatcher:
    """Applies batches of records to the handlers registered by ce_type (or by topic)."""

    def __init__(
        self,
        service: str,
        pool_getter: Callable[[], asyncpg.Pool],
        producer_getter: Callable[[], AIOKafkaProducer],
        *,
        max_attempts: int = 4,
        transient_retries: int = 8,
    ) -> None:
        self.service = service
        self.by_type: dict[str, Route] = {}
        self.by_topic: dict[str, Route] = {}
        # `async (conn, envelopes) -> envelopes kept`, run once per batch inside its transaction
        self.filters: list[
            Callable[[asyncpg.Connection, list[Envelope]], Awaitable[list[Envelope]]]
        ] = []
        self.topics: set[str] = set()
        self._pool = pool_getter
        self._producer = producer_getter
        self.max_attempts = max_attempts
        self.transient_retries = transient_retries

    def register(
        self,
        topic: str,
        ce_type: str,
        handler: Callable,
        *,
        batch: bool = False,
        when: Wanted | None = None,
    ) -> None:
        if ce_type in self.by_type:
            raise ValueError(f"{self.service} already handles {ce_type}")
        self.by_type[ce_type] = Route(handler, batch, when)
        self.topics.add(topic)

    def register_topic(self, topic: str, handler: Callable, *, batch: bool = False) -> None:
        """Every event on `topic` that no type handler claims."""
        if topic in self.by_topic:
            raise ValueError(f"{self.service} already has a handler for topic {topic}")
        self.by_topic[topic] = Route(handler, batch)
        self.topics.add(topic)

    def route(self, env: Envelope) -> Route | None:
        return self.by_type.get(env.type) or self.by_topic.get(env.topic)

    async def apply_records(self, records: tuple[Any, ...] | list[Any]) -> None:
        envelopes: list[Envelope] = []
        for record in records:
            try:
                envelopes.append(Envelope.from_record(record))
            except MalformedEvent as exc:
                await self.dead_letter(record, exc, attempts=0)
        relevant = [e for e in envelopes if self._wanted(e)]
        if skipped := len(envelopes) - len(relevant):
            metrics.EVENTS_CONSUMED.labels(self.service, self.service, "skipped").inc(skipped)
        if relevant:
            failed = await self._with_transient_retry(lambda: self._apply_batch(relevant))
            for env, exc in failed:
                await self._retry_alone(env, exc, records)

    def _wanted(self, env: Envelope) -> bool:
        route = self.route(env)
        return route is not None and route.wants(env)

    async def _apply_batch(self, envs: list[Envelope]) -> list[tuple[Envelope, Exception]]:
        async with self._pool().acquire() as conn, conn.transaction():
            new = await inbox.claim_many(conn, self.service, [e.id for e in envs])
            duplicates = len(envs) - len(new)  # already applied, or twice in this batch
            if duplicates:
                metrics.EVENTS_CONSUMED.labels(self.service, self.service, "duplicate").inc(
                    duplicates
                )
            runs = _runs(await self._filtered(conn, _first_of_each(envs, new)), self.route)
            failed = (
                []
                if await self._applied_together(conn, runs)
                else await self._apply_runs(conn, runs)
            )
            if failed:  # release their claims so a retry can apply them
                await conn.execute(
                    "DELETE FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                    self.service,
                    [env.id for env, _ in failed],
                )
        return failed

    async def _applied_together(self, conn: asyncpg.Connection, runs: list[Run]) -> bool:
        """Every run under one savepoint: the common case, two statements per batch instead of
        two per run. False (nothing kept) when one failed; `_apply_runs` then finds which."""
        if len(runs) < 2:
            return False
        try:
            async with conn.transaction():
                for route, run in runs:
                    await route.apply(conn, run)
        except UNAVAILABLE:
            raise
        except Exception:
            return False
        self._count_applied(sum(len(run) for _, run in runs))
        return True

    async def _apply_runs(
        self, conn: asyncpg.Connection, runs: list[Run]
    ) -> list[tuple[Envelope, Exception]]:
        failed: list[tuple[Envelope, Exception]] = []
        for route, run in runs:
            try:
                async with conn.transaction():  # a savepoint: a failure undoes only this run
                    await route.apply(conn, run)
            except UNAVAILABLE:
                raise
            except Exception as exc:
                failed.extend((env, exc) for env in run)
                continue
            self._count_applied(len(run))
        return failed

    def _count_applied(self, events: int) -> None:
        metrics.EVENTS_CONSUMED.labels(self.service, self.service, "applied").inc(events)

    async def _filtered(self, conn: asyncpg.Connection, envs: list[Envelope]) -> list[Envelope]:
        for keep in self.filters:
            if not envs:
                break
            envs = await keep(conn, envs)
        return envs

    async def _apply_one(self, env: Envelope) -> None:
        route = self.route(env)
        assert route is not None
        async with self._pool().acquire() as conn, conn.transaction():
            if await inbox.claim(conn, self.service, env.id) and await self._filtered(conn, [env]):
                await route.apply(conn, [env])

    async def _retry_alone(self, env: Envelope, first: Exception, records: Any) -> None:
        """The first retry is immediate: most events of a failed run are innocent bystanders of
        one poison event, and must not wait. Only an event that fails on its own backs off."""
        error: Exception = first
        for attempt in range(2, self.max_attempts + 1):
            try:
                await self._with_transient_retry(lambda: self._apply_one(env))
                self._count_applied(1)
                return
            except UNAVAILABLE:
                raise
            except Exception as exc:
                error = exc
            metrics.CONSUMER_ERRORS.labels(self.service, self.service).inc()
            log.warning(
                "event.retry", event_id=env.id, ce_type=env.type, attempt=attempt, error=repr(error)
            )
            await asyncio.sleep(0.05 * 2**attempt)
        record = next(
            r
            for r in records
            if r.topic == env.topic and r.partition == env.partition and r.offset == env.offset
        )
        await self.dead_letter(record, error, attempts=self.max_attempts)

    async def _with_transient_retry(self, action: Callable[[], Awaitable[Any]]) -> Any:
        delay = 0.2
        for attempt in range(self.transient_retries):
            try:
                return await action()
            except UNAVAILABLE as exc:
                if attempt == self.transient_retries - 1:
                    raise
                log.warning("consumer.database_unavailable", error=repr(exc), backoff_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return None

    async def dead_letter(self, record: Any, error: Exception, attempts: int) -> None:
        headers = [
            *list(record.headers or ()),
            ("x-error", repr(error)[:2000].encode()),
            ("x-error-type", type(error).__name__.encode()),
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
            ("x-consumer", self.service.encode()),
            ("x-attempts", str(attempts).encode()),
        ]
        await self._producer().send_and_wait(
            f"{record.topic}.dlq", record.value, key=record.key, headers=headers
        )
        metrics.DEAD_LETTERED.labels(self.service, record.topic).inc()
        log.error(
            "event.dead_lettered", topic=record.topic, offset=record.offset, error=repr(error)
        )


def _runs(envs: list[Envelope], route_of: Callable[[Envelope], Route | None]) -> list[Run]:
    """Consecutive events sharing a route (the same handler, however many types it is registered
    for) form one run: one call of a batch handler. Order is kept. When a run fails, each of its
    events is retried alone, so a poison event is still parked alone."""
    runs: list[Run] = []
    for env in envs:
        route = route_of(env)
        assert route is not None
        if runs and runs[-1][0] == route:
            runs[-1][1].append(env)
        else:
            runs.append((route, [env]))
    return runs


def _first_of_each(envs: list[Envelope], new: set[str]) -> list[Envelope]:
    """The newly claimed events, each once: a batch can hold the same event twice."""
    seen: set[str] = set()
    out = []
    for env in envs:
        if env.id in new and env.id not in seen:
            seen.add(env.id)
            out.append(env)
    return out
