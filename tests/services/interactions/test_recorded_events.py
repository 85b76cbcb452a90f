"""The events of accepted calls are built by the statement that stores the calls, from the calls'
own fields. Each must be exactly the event `recorded_data` and the model describe (the timeline
entries of known customers are made from `recorded_data`): topic, type, key, subject and data,
in the calls' order, and none for a call already stored, whatever the session's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from services.interactions.store import interactions
from services.interactions.tracking_domain import RequestInfo, TrackedCall, parse_call
from services.interactions.tracking_record import recorded_data
from shared.db import create_pool, dump_json, ensure_database, migrate
from shared.events.interactions import InteractionRecorded, VisitorInteractionRecorded
from tests.services.interactions.test_metrics_race import MIGRATIONS

KNOWN = uuid.uuid4()
CALLS = [  # (raw call, known customer)
    ({"type": "page", "anonymousId": "a1", "properties": {"path": "/p", "n": [1, {"x": None}]}}, 0),
    ({"type": "page", "anonymousId": "a2", "context": {"page": {"path": "/from-context"}}}, 0),
    ({"type": "identify", "userId": "u1", "traits": {"email": "A@x.io", "n": 2**70}}, 1),
    ({"type": "track", "userId": "u2", "event": 'Bought "it" — ünï\'code', "properties": {}}, 1),
    ({"type": "alias", "userId": "u3", "previousId": "a3"}, 0),
    ({"type": "screen", "anonymousId": "a4", "name": "Home", "traits": {"ignored": True}}, 0),
    (
        {
            "type": "track",
            "anonymousId": "a5",
            "event": "E",
            "timestamp": "2025-01-02T03:04:05+02:00",
        },
        0,
    ),
    ({"type": "group", "userId": "u6", "groupId": "g1", "traits": {"plan": "pro"}}, 1),
    ({"type": "track", "anonymousId": "a7", "userId": "u7", "event": "Signed In"}, 1),
    ({"type": "track", "anonymousId": "a8", "userId": "u8", "event": "Not linked yet"}, 0),
]


def _calls() -> tuple[list[TrackedCall], dict[uuid.UUID, uuid.UUID | None]]:
    calls, customers = [], {}
    for raw, known in CALLS:
        call = parse_call({**raw, "messageId": f"m-{uuid.uuid4()}"}, RequestInfo(datetime.now(UTC)))
        calls.append(call)
        customers[call.interaction_id] = KNOWN if known else None
    return calls, customers


@pytest.fixture
async def pool(infra):
    await ensure_database(infra.server_dsn, "ecrm_recorded_events")
    pool = await create_pool(infra.dsn("recorded_events"), 2)
    await migrate(pool, MIGRATIONS)
    yield pool
    await pool.close()


async def test_each_event_is_what_recorded_data_and_the_model_describe(pool):
    calls, customers = _calls()
    already = calls[1]._replace(interaction_id=uuid.uuid4())  # stored by an earlier request
    repeated = calls[3]._replace(interaction_id=uuid.uuid4())  # the same call twice in one batch
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL timezone = 'America/New_York'")  # times are still UTC
        await interactions.insert_new(conn, [already], {})
        first_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
        new = await interactions.insert_new(
            conn, [*calls, repeated], customers | {repeated.interaction_id: KNOWN}, publish=True
        )
        rows = await conn.fetch(
            "SELECT topic, key, ce_type, subject, data::text AS data FROM outbox"
            " WHERE id > $1 ORDER BY id",
            first_id,
        )
    expected = [c for c in calls if c is not calls[1]]
    assert new == {c.interaction_id for c in expected}
    assert len(rows) == len(expected)
    for row, call in zip(rows, expected, strict=True):
        data = recorded_data(call, customers[call.interaction_id])
        event_type = InteractionRecorded if data["customer_id"] else VisitorInteractionRecorded
        published = orjson.loads(row["data"])
        model = event_type.model_validate(data)
        assert event_type.model_validate(published) == model
        assert (row["topic"], row["ce_type"]) == (event_type.topic(), event_type.ce_type())
        assert row["key"] == row["subject"] == model.key()
        as_written = orjson.loads(dump_json(data))
        assert published.keys() == as_written.keys()
        assert published | {"occurred_at": None} == as_written | {"occurred_at": None}
        stamp = datetime.fromisoformat(published["occurred_at"])
        assert stamp == call.occurred_at and stamp.utcoffset().total_seconds() == 0


async def test_calls_stored_without_publishing_get_no_event(pool):
    calls, customers = _calls()
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchval("SELECT count(*) FROM outbox")
        assert len(await interactions.insert_new(conn, calls, customers)) == len(calls)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == before
