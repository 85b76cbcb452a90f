"""Recording a request of visitor calls takes four round trips (BEGIN with the shared lock, the
link lookup, the calls with their events, COMMIT), and a call already stored (by messageId, in
an earlier request or earlier in the same one) gets no second row and no second event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from services.interactions.tracking_domain import RequestInfo, TrackedCall, parse_call
from services.interactions.tracking_record import record
from shared.db import create_pool, ensure_database, migrate
from tests.services.interactions.test_metrics_race import MIGRATIONS


def visit(visitor: str, message_id: str) -> TrackedCall:
    raw = {"type": "track", "event": "Clicked", "anonymousId": visitor, "messageId": message_id}
    return parse_call(raw, RequestInfo(datetime.now(UTC)))


async def _runtime(infra) -> SimpleNamespace:
    await ensure_database(infra.server_dsn, "ecrm_record_statements")
    pool = await create_pool(infra.dsn("record_statements"), 1)
    await migrate(pool, MIGRATIONS)
    return SimpleNamespace(db=pool, relay_wakeup=None)  # what `record` uses of a Runtime


async def _events_of(pool, visitor: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT data->>'message_id' AS message_id FROM outbox"
        " WHERE data->>'anonymous_id' = $1 ORDER BY id",
        visitor,
    )
    return [r["message_id"] for r in rows]


async def test_a_request_of_visitor_calls_is_four_round_trips(infra):
    runtime = await _runtime(infra)
    visitor = f"anon-{uuid.uuid4().hex[:8]}"
    sent: list[str] = []
    try:
        async with runtime.db.acquire() as conn:  # the pool's only connection
            conn.add_query_logger(lambda query: sent.append(query.query))
        calls = [visit(visitor, f"m-{visitor}-{n}") for n in range(3)]
        assert await record(runtime, calls) == 3
        assert len(sent) == 4
        assert sent[0].startswith("BEGIN; SELECT pg_advisory_xact_lock_shared(")
        assert "FROM identity_links" in sent[1]
        assert "INSERT INTO interactions" in sent[2] and "INSERT INTO outbox" in sent[2]
        assert sent[3] == "COMMIT"
        assert await _events_of(runtime.db, visitor) == [c.message_id for c in calls]
    finally:
        await runtime.db.close()


async def test_calls_seen_before_get_no_second_event(infra):
    runtime = await _runtime(infra)
    visitor = f"anon-{uuid.uuid4().hex[:8]}"
    ids = [f"m-{visitor}-{n}" for n in range(4)]
    try:
        assert await record(runtime, [visit(visitor, ids[1])]) == 1
        again = [visit(visitor, m) for m in (ids[0], ids[1], ids[2], ids[0], ids[3])]
        assert await record(runtime, again) == 3
        assert await record(runtime, [visit(visitor, m) for m in ids]) == 0
        assert await _events_of(runtime.db, visitor) == [ids[1], ids[0], ids[2], ids[3]]
        stored = await runtime.db.fetchval(
            "SELECT count(*) FROM interactions WHERE anonymous_id = $1", visitor
        )
        assert stored == 4
    finally:
        await runtime.db.close()
