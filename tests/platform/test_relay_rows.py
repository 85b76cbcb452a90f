"""The relay reads ids and times as text formatted by PostgreSQL; they must be the CloudEvents
attributes the outbox row stands for (RFC 3339 time, canonical id)."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from shared import outbox
from shared.cloudevents import Envelope, headers_for
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import CustomerDeleted
from shared.relay import _SELECT


async def test_relayed_ids_and_times_are_the_rows_own(infra):
    await ensure_database(infra.server_dsn, "ecrm_relay_rows")
    pool = await create_pool(infra.dsn("relay_rows"), 2)
    moments = [
        datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 0, 0, tzinfo=timezone(timedelta(hours=2))),  # no microseconds
        datetime(1999, 12, 31, 23, 59, 59, 5, tzinfo=timezone(timedelta(hours=-5))),
    ]
    try:
        await migrate(pool, Path(tempfile.mkdtemp()))
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE outbox")
            for moment in moments:
                async with conn.transaction():
                    await outbox.add_rows(
                        conn, [outbox.row_of(CustomerDeleted(customer_id="c1"))], notify=False
                    )
                    await conn.execute("UPDATE outbox SET occurred_at = $1", moment)
                    row = (await conn.fetch(_SELECT, 10, 0))[0]
                    stored = await conn.fetchrow("SELECT event_id, occurred_at FROM outbox")
                    await conn.execute("DELETE FROM outbox")
                headers = headers_for(row["event_id"], row["ce_type"], "/t", row["ce_time"], None)
                record = type("R", (), {"headers": headers, "value": b"{}", "key": None,
                                        "topic": "t", "partition": 0, "offset": 0})  # fmt: skip
                env = Envelope.from_record(record)
                assert env.time == moment == stored["occurred_at"]
                assert env.time.utcoffset() == timedelta(0)
                assert env.id == str(stored["event_id"]) and uuid.UUID(env.id).version == 7
    finally:
        await pool.close()
