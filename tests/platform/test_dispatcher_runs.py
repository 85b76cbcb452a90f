"""A batch's events are applied under one savepoint; when one of them fails, the others are
still applied exactly once and the failing one alone is retried, then dead-lettered. On a real
PostgreSQL database with the platform's inbox; the handlers write rows, so what a rolled-back
savepoint undid is visible."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from shared.cloudevents import headers_for
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import ConsentChanged, CustomerCreated, CustomerUpdated
from shared.messaging import EventDispatcher

TOPIC = CustomerCreated.topic()


def record(offset: int, event: type, name: str) -> ConsumerRecord:
    headers = headers_for(uuid.uuid4(), event.ce_type(), "/test", datetime.now(UTC), None)
    value = orjson.dumps({"name": name})
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), headers)


class Recording(EventDispatcher):
    def __init__(self, pool: Any) -> None:
        super().__init__("dispatch_runs", lambda: pool, lambda: None, max_attempts=2)
        self.parked: list[int] = []

    async def dead_letter(self, record: Any, error: Exception, attempts: int) -> None:
        self.parked.append(record.offset)


async def test_one_poison_event_among_runs_is_parked_alone_the_rest_applied_once(infra):
    await ensure_database(infra.server_dsn, "ecrm_dispatch_runs")
    pool = await create_pool(infra.dsn("dispatch_runs"), 2)
    try:
        await migrate(pool, Path(tempfile.mkdtemp()))  # the platform's tables only
        await pool.execute("CREATE TABLE applied (name text)")
        calls: list[list[str]] = []

        async def project(conn, envs):  # one batch handler for two event types
            calls.append([e.data["name"] for e in envs])
            for env in envs:
                await conn.execute("INSERT INTO applied VALUES ($1)", env.data["name"])

        async def consent(conn, env):
            if env.data["name"] == "poison":
                raise ValueError("cannot apply this one")
            await conn.execute("INSERT INTO applied VALUES ($1)", env.data["name"])

        dispatcher = Recording(pool)
        dispatcher.register(TOPIC, CustomerCreated.ce_type(), project, batch=True)
        dispatcher.register(TOPIC, CustomerUpdated.ce_type(), project, batch=True)
        dispatcher.register(TOPIC, ConsentChanged.ce_type(), consent)
        records = [
            record(0, CustomerCreated, "created"),
            record(1, CustomerUpdated, "updated"),  # same handler: the same run as "created"
            record(2, ConsentChanged, "consent"),
            record(3, ConsentChanged, "poison"),
            record(4, CustomerCreated, "late"),
        ]
        await dispatcher.apply_records(records)
        assert dispatcher.parked == [3]
        assert calls[0] == ["created", "updated"]  # one call for the run of the two types
        await dispatcher.apply_records(records)  # redelivered: nothing applied twice

        names = await pool.fetch("SELECT name FROM applied ORDER BY name")
        assert [r["name"] for r in names] == ["consent", "created", "late", "updated"]
        inbox = await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'dispatch_runs'")
        assert inbox == 4  # the poison event's claim was released
    finally:
        await pool.close()
