"""A service's runtime: its pool, producer, relay and subscriber, started and stopped together.

`app.py` of each service builds one `Runtime`, registers handlers with `@runtime.on(...)`,
and hands it to `create_app`. This is the one place things meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from faststream.kafka import KafkaBroker, TopicPartition
from faststream.specification import AsyncAPI

from shared import consuming, election, inbox, metrics, outbox, work_queues
from shared.db import create_pool, ensure_database, migrate
from shared.events.base import Event
from shared.http import (
    JSON,
    RequestContextMiddleware,
    install_error_handlers,
    install_platform_routes,
)
from shared.logging import configure_logging, get_logger
from shared.messaging import BatchHandler, EventDispatcher, Handler, Wanted
from shared.outbox import RelayWakeup
from shared.privacy import guard_erased
from shared.relay import OutboxRelay, make_producer
from shared.revocation import RevocationList
from shared.settings import Settings, get_settings

log = get_logger(__name__)
CONSUMER_START_S = 60.0  # a start that takes longer is abandoned and tried again


# An advisory lock on one bigint key shows in pg_locks as (classid, objid) = its high, low words.
_CONSUMER_LOCK_HELD = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((classid::bigint << 32) | objid::bigint) = hashtext($1)::bigint
)
"""


class Runtime:
    def __init__(
        self,
        name: str,
        migrations: Path,
        *,
        publishes: tuple[type[Event], ...] = (),
        settings: Settings | None = None,
        batch_size: int = 500,
    ) -> None:
        self.name = name
        self.settings = settings or get_settings()
        configure_logging(name, self.settings.log_level)
        self.migrations = migrations
        self.dsn = self.settings.database_dsn(name)
        self.signing_key = self.settings.resolved_signing_key()
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.relay_wakeup: RelayWakeup | None = None
        self.broker = self._kafka_broker()  # describes the service (AsyncAPI); never started
        self.consumer: KafkaBroker | None = None  # the elected process's
        self.dispatcher = EventDispatcher(name, lambda: self.db, lambda: self.kafka_producer)
        self.batch_size = batch_size
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._started = False
        self.consuming = False
        self.revoked = RevocationList()
        self.on_start: list[Callable[[Runtime], Any]] = []
        self.work_queues: list[work_queues.WorkQueue] = []
        self._queues_read_at = -work_queues.EVERY_S
        for event_type in publishes:
            self.broker.publisher(
                event_type.topic(),
                title=f"{event_type.topic()}:{event_type.__name__}",
                description=(event_type.__doc__ or event_type.__name__).strip(),
                schema=event_type,
            )

    @property
    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, "runtime not started"
        return self.pool

    @property
    def kafka_producer(self) -> AIOKafkaProducer:
        assert self.producer is not None, "runtime not started"
        return self.producer

    def on(
        self, *event_types: type[Event], when: Wanted | None = None
    ) -> Callable[[Handler], Handler]:
        """Register a handler `async def h(conn, envelope)` for these event types; `when`
        (optional) skips, before any database work, the events the handler would ignore."""

        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                self.dispatcher.register(
                    event_type.topic(), event_type.ce_type(), handler, when=when
                )
            return handler

        return register

    def on_batch(
        self, *event_types: type[Event], when: Wanted | None = None
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Register `async def h(conn, envelopes)`: consecutive events of these types at once.

        On failure the run is retried one event at a time, so one poison event is parked alone.
        """

        def register(handler: BatchHandler) -> BatchHandler:
            for event_type in event_types:
                self.dispatcher.register(
                    event_type.topic(), event_type.ce_type(), handler, batch=True, when=when
                )
            return handler

        return register

    def on_topic(self, *topics: str, batch: bool = False) -> Callable:
        """Register a handler for every event on these topics that no type handler claims."""

        def register(handler: Callable) -> Callable:
            for topic in topics:
                self.dispatcher.register_topic(topic, handler, batch=batch)
            return handler

        return register

    def background(self, factory: Callable[[asyncio.Event], Any]) -> None:
        """A long-running task started with the service, given the stop event."""
        self.on_start.append(lambda rt: rt._tasks.append(asyncio.create_task(factory(rt._stop))))

    async def start(self) -> None:
        await ensure_database(self.settings.server_dsn, f"ecrm_{self.name}")
        self.pool = await create_pool(self.dsn, self.settings.db_pool_size)
        self.relay_wakeup = RelayWakeup(self.pool)
        await migrate(self.pool, self.migrations)
        self.producer = make_producer(self.settings.kafka)
        await self.producer.start()
        self.relay = OutboxRelay(
            self.name,
            self.pool,
            self.dsn,
            self.producer,
            round_interval_s=self.settings.relay_round_interval_ms / 1000,
            retention_hours=self.settings.outbox_retention_hours,
        )
        self._tasks.append(asyncio.create_task(self.relay.run(self._stop)))
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        await self.revoked.load(self.pool)
        self._tasks.append(asyncio.create_task(self.revoked.keep_loading(self.pool, self._stop)))
        if self.dispatcher.topics:
            guard_erased(self.dispatcher)  # every service drops late events of erased people
            consuming.register(self.broker, self.name, self.dispatcher, self.batch_size)
            self._tasks.append(asyncio.create_task(self._consume_when_elected()))
        for hook in self.on_start:
            result = hook(self)
            if asyncio.iscoroutine(result):
                await result
        self._started = True
        log.info("service.started", topics=sorted(self.dispatcher.topics))

    async def _consume_when_elected(self) -> None:
        """One consumer per service, whatever its number of worker processes: the process that
        holds the service's advisory lock consumes (two consumers would apply one customer's
        events concurrently). If the lock's session ends, this process stops gracefully
        (SIGTERM) and its restart competes again."""
        lock = await election.win(self.dsn, f"consumer:{self.name}", self._stop)
        if lock is None:
            return
        log.info("consumer.elected", group=self.name, pid=os.getpid())
        try:
            await self._start_consumer()
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 2)
                if self._stop.is_set():
                    break
                try:
                    await asyncio.wait_for(lock.fetchval("SELECT 1"), 10)
                except TimeoutError:
                    continue  # a stalled server still holds our session, and with it the lock
                except Exception as exc:
                    log.error("consumer.lock_lost", error=repr(exc))
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
        finally:
            with contextlib.suppress(Exception):
                await lock.close()

    async def _start_consumer(self) -> None:
        """Take every partition of the service's topics and consume. A failed or stalled start
        is stopped (nothing of it left running) and tried again, backing off."""
        delay = 0.5
        while not self._stop.is_set():
            self.consumer = broker = self._kafka_broker()  # `stop` stops it, even mid-start
            try:
                partitions = await asyncio.wait_for(self._assign(broker), CONSUMER_START_S)
                self.consuming = True
                log.info("consumer.started", group=self.name, partitions=len(partitions))
                return
            except Exception as exc:  # broker away or stalled at start: keep trying
                log.warning("consumer.start_failed", error=repr(exc), backoff_s=delay)
                self.consumer = None
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(broker.stop(), CONSUMER_START_S)
            await election.sleep_or_stop(self._stop, delay)
            delay = min(delay * 2, 10.0)

    async def _assign(self, broker: KafkaBroker) -> list[TopicPartition]:
        partitions = await consuming.partitions_of(self.kafka_producer, self.dispatcher.topics)
        consuming.register(broker, self.name, self.dispatcher, self.batch_size, partitions)
        await broker.start()
        return partitions

    def _kafka_broker(self) -> KafkaBroker:
        # No FastDepends: the handler takes the records (`consuming.the_records`); solving its
        # arguments ran a step of every batch on a worker thread.
        return KafkaBroker(
            self.settings.kafka,
            enable_idempotence=False,
            graceful_timeout=10,
            logger=None,
            apply_types=False,
        )

    async def stop(self) -> None:
        self._stop.set()
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                await self.consumer.stop()  # commits what was applied
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        if self.pool is not None:
            await self.pool.close()
        log.info("service.stopped")

    async def health(self) -> dict[str, Any]:
        if not self._started:
            return {"status": "starting", "service": self.name}
        try:
            async with self.db.acquire(timeout=2) as conn:
                consumer = await self._consumer_state(conn)
        except Exception as exc:
            return {"status": "degraded", "service": self.name, "database": repr(exc)}
        topics = sorted(self.dispatcher.topics)
        return {"status": "ok", "service": self.name, "consumer": consumer, "topics": topics}

    async def _consumer_state(self, conn: asyncpg.Connection) -> str:
        """`up` when this process consumes or another process of the service holds the consumer
        lock (several worker processes answer /healthz in turn); `electing` otherwise."""
        if not self.dispatcher.topics:
            return "n/a"
        if self.consuming:
            return "up"
        held = await conn.fetchval(_CONSUMER_LOCK_HELD, f"consumer:{self.name}")
        return "up" if held else "electing"

    def work_queue(self, name: str, sql: str) -> None:
        """Show one of the service's own queues on /metrics (`shared.work_queues`)."""
        self.work_queues.append(work_queues.WorkQueue(name, sql))

    async def refresh_gauges(self) -> None:
        if self.pool is None:
            return
        try:
            async with self.db.acquire(timeout=2) as conn:
                metrics.OUTBOX_BACKLOG.labels(self.name).set(await outbox.backlog(conn))
                if time.monotonic() - self._queues_read_at >= work_queues.EVERY_S:
                    self._queues_read_at = time.monotonic()
                    await work_queues.refresh(conn, self.name, self.work_queues)
        except Exception as exc:  # the scrape still answers, with the figures it had
            log.warning("metrics.gauges_failed", error=repr(exc))

    async def _housekeeping(self) -> None:
        """Retention: purge published outbox rows and old inbox claims, hourly."""
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                assert self.relay is not None
                await self.relay.purge()
                async with self.db.acquire() as conn:
                    # inbox outlives the outbox, so a replay never re-applies an event
                    await inbox.purge(conn, self.settings.outbox_retention_hours * 2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 3600)

    def asyncapi(self) -> dict[str, Any]:
        spec = AsyncAPI(self.broker, title=f"ecrm {self.name}", version="1.0.0")
        return spec.to_specification().to_jsonable()


def _openapi_with_security(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        _document_problems(schema)
        schemes["writeKey"] = {
            "type": "http",
            "scheme": "basic",
            "description": "Segment-style: the write key as user name",
        }
        app.openapi_schema = schema
    return app.openapi_schema


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": ["string", "null"]}, "message": {"type": "string"}}}},
    },
}  # fmt: skip


def _document_problems(schema: dict[str, Any]) -> None:
    """Every operation can answer an RFC 9457 problem: 4xx for the caller's mistakes, 503 while
    the database is away."""
    problem = {"content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own validation shape is not what we send
            responses.setdefault("4XX", {"description": "the request was refused", **problem})
            responses.setdefault("503", {"description": "storage unavailable, retry", **problem})


def settle_heap() -> None:
    """Move everything alive after start-up (modules, models, routes, caches) out of the
    collector's reach. Without it every full collection walked that whole heap: 90-140 ms with
    the event loop stopped, a few times a minute under load, which was most of the tracking
    API's p99. After it, a full collection walks only what the service made since: 1-20 ms."""
    gc.collect()
    gc.freeze()


def create_app(runtime: Runtime, routers: list[APIRouter], description: str = "") -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        settle_heap()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"ecrm {runtime.name}",
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=JSON,
        strict_content_type=False,  # JSON bodies are read whatever Content-Type says
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: _openapi_with_security(app)  # type: ignore[method-assign]
    app.state.runtime = runtime
    app.state.signing_key = runtime.signing_key
    app.state.revoked = runtime.revoked
    install_error_handlers(app)
    install_platform_routes(app, runtime)
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestContextMiddleware, service=runtime.name)
    return app
