"""`when=` on a handler: events it refuses are skipped before any database work; the others
are applied once, as usual. On a real PostgreSQL database with the platform's inbox."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka.structs import ConsumerRecord

from shared.cloudevents import headers_for
from shared.db import create_pool, ensure_database, migrate
from shared.events.interactions import InteractionRecorded
from shared.messaging import EventDispatcher, names_a_customer


def record(offset: int, data: dict) -> ConsumerRecord:
    event_id = uuid.uuid4()
    headers = headers_for(event_id, InteractionRecorded.ce_type(), "/test", datetime.now(UTC), None)
    value = orjson.dumps(data)
    return ConsumerRecord(
        InteractionRecorded.topic(), 0, offset, 0, 0, b"k", value, None, 1, len(value), headers
    )


async def test_refused_events_leave_no_inbox_row_and_reach_no_handler(infra):
    await ensure_database(infra.server_dsn, "ecrm_dispatch_when")
    pool = await create_pool(infra.dsn("dispatch_when"), 2)
    try:
        await migrate(pool, Path(tempfile.mkdtemp()))  # the platform's tables only
        seen: list[str] = []

        async def handler(conn, envs):
            seen.extend(e.data["interaction_id"] for e in envs)

        dispatcher = EventDispatcher("dispatch_when", lambda: pool, lambda: None)
        dispatcher.register(
            InteractionRecorded.topic(),
            InteractionRecorded.ce_type(),
            handler,
            batch=True,
            when=names_a_customer,
        )
        records = [
            record(0, {"interaction_id": "anonymous", "customer_id": None}),
            record(1, {"interaction_id": "known", "customer_id": str(uuid.uuid4())}),
        ]
        await dispatcher.apply_records(records)
        await dispatcher.apply_records(records)  # redelivered: still applied once
        assert seen == ["known"]
        async with pool.acquire() as conn:
            rows = await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer = $1", "dispatch_when"
            )
        assert rows == 1
    finally:
        await pool.close()
