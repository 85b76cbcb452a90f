"""The tracking API on a real interactions process: auth, bodies, limits, dedupe, skew."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import orjson

from shared.events.interactions import VisitorInteractionRecorded
from tests.services.interactions.conftest import basic, unique
from tests.support.events import wait_for_events


async def count(db, message_ids: list[str]) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM interactions WHERE message_id = ANY($1::text[])", message_ids
    )


async def test_a_retried_batch_is_accepted_again_but_stored_once(
    infra, interactions, http, write_auth, db
):
    anonymous_id = unique("anon")
    ids = [unique("msg") for _ in range(3)]
    batch = {
        "batch": [
            {"type": "track", "event": "Clicked", "anonymousId": anonymous_id, "messageId": m}
            for m in ids
        ]
    }
    for _ in range(3):  # the client did not hear the answer and retried
        response = await http.post(f"{interactions}/v1/batch", json=batch, headers=write_auth)
        assert response.status_code == 200 and response.json() == {"success": True}
    assert await count(db, ids) == 3

    await wait_for_events(
        infra.bootstrap,
        VisitorInteractionRecorded.topic(),
        lambda e: e.data.get("anonymous_id") == anonymous_id,
        count=3,
    )
    events = await wait_for_events(
        infra.bootstrap,
        VisitorInteractionRecorded.topic(),
        lambda e: e.data.get("anonymous_id") == anonymous_id,
    )
    assert sorted(e.data["message_id"] for _, e in events) == sorted(ids)


async def test_a_partly_malformed_batch_keeps_the_valid_rest(interactions, http, write_auth, db):
    good = [unique("msg"), unique("msg")]
    batch = {
        "batch": [
            {"type": "page", "anonymousId": unique("anon"), "messageId": good[0]},
            {
                "type": "track",
                "anonymousId": unique("anon"),
                "messageId": unique("bad"),
            },  # no event
            {"type": "identify", "messageId": unique("bad")},  # neither userId nor anonymousId
            "not an object",
            {
                "type": "track",
                "event": "Ok",
                "userId": 42,
                "messageId": good[1],
                "timestamp": "2025-01-01T00:00:00Z",
            },
            {"type": "page", "anonymousId": "x", "timestamp": "yesterday"},
            {"type": "teleport", "anonymousId": "x"},
        ]
    }
    response = await http.post(f"{interactions}/v1/batch", json=batch, headers=write_auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["accepted"] == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "event"),
        (2, "userId"),
        (3, "body"),
        (5, "timestamp"),
        (6, "type"),
    ]
    assert await count(db, good) == 2
    assert (
        await db.fetchval("SELECT user_id FROM interactions WHERE message_id = $1", good[1]) == "42"
    )


async def test_a_wholly_malformed_request_is_a_problem_naming_the_fields(
    interactions, http, write_auth
):
    response = await http.post(
        f"{interactions}/v1/track", json={"anonymousId": "a"}, headers=write_auth
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "event"

    for body, field in (({"batch": "nope"}, "batch"), ({"batch": [{"type": "x"}]}, "type")):
        response = await http.post(f"{interactions}/v1/batch", json=body, headers=write_auth)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field

    broken = await http.post(
        f"{interactions}/v1/batch",
        content=b"{not json",
        headers=write_auth | {"Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "body"


async def test_gzip_bodies_are_read(interactions, http, write_auth, db):
    message_id = unique("msg")
    body = gzip.compress(
        orjson.dumps(
            {
                "batch": [
                    {
                        "type": "identify",
                        "userId": unique("user"),
                        "traits": {"plan": "pro"},
                        "messageId": message_id,
                    }
                ]
            }
        )
    )
    headers = write_auth | {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = await http.post(f"{interactions}/v1/batch", content=body, headers=headers)
    assert response.status_code == 200, response.text
    traits = await db.fetchval("SELECT traits FROM interactions WHERE message_id = $1", message_id)
    assert orjson.loads(traits) == {"plan": "pro"}

    broken = await http.post(
        f"{interactions}/v1/batch", content=b"not gzip at all", headers=headers
    )
    assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "Content-Encoding"


async def test_a_wrong_or_missing_write_key_is_refused(interactions, http, db):
    message_id = unique("msg")
    call = {"anonymousId": "a", "event": "E", "messageId": message_id}
    for headers in ({}, basic("wk_wrong"), {"Authorization": "Bearer abc"}):
        response = await http.post(f"{interactions}/v1/track", json=call, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/problem+json"
    assert await count(db, [message_id]) == 0
    from tests.support.infra import WRITE_KEY

    in_body = await http.post(f"{interactions}/v1/track", json=call | {"writeKey": WRITE_KEY})
    assert in_body.status_code == 200  # Segment also takes the key in the body


async def test_segment_size_limits_answer_413(interactions, http, write_auth, db):
    big = "x" * (33 * 1024)
    single = await http.post(
        f"{interactions}/v1/track",
        json={"anonymousId": "a", "event": "E", "properties": {"b": big}},
        headers=write_auth,
    )
    assert single.status_code == 413
    assert single.headers["content-type"] == "application/problem+json"

    calls = [
        {"type": "track", "anonymousId": "a", "event": "E", "properties": {"b": "y" * 30000}}
        for _ in range(20)
    ]
    batch = await http.post(f"{interactions}/v1/batch", json={"batch": calls}, headers=write_auth)
    assert batch.status_code == 413

    compressed = gzip.compress(orjson.dumps({"batch": calls}))  # small on the wire, not inside
    headers = write_auth | {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    assert (
        await http.post(f"{interactions}/v1/batch", content=compressed, headers=headers)
    ).status_code == 413

    ok_id = unique("msg")
    mixed = [
        {"type": "track", "anonymousId": "a", "event": "E", "properties": {"b": big}},
        {"type": "track", "anonymousId": "a", "event": "E", "messageId": ok_id},
    ]
    response = await http.post(
        f"{interactions}/v1/batch", json={"batch": mixed}, headers=write_auth
    )
    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 0 and await count(db, [ok_id]) == 1


async def test_the_device_clock_skew_is_corrected(interactions, http, write_auth, db):
    message_id = unique("msg")
    skew = timedelta(hours=2)  # the device clock is two hours ahead
    device_now = datetime.now(UTC) + skew
    happened = device_now - timedelta(minutes=5)
    batch = {
        "sentAt": device_now.isoformat(),
        "batch": [
            {
                "type": "track",
                "event": "E",
                "anonymousId": "a",
                "messageId": message_id,
                "timestamp": happened.isoformat(),
                "context": {"ip": "1.2.3.4"},
            }
        ],
    }
    assert (
        await http.post(f"{interactions}/v1/batch", json=batch, headers=write_auth)
    ).status_code == 200
    row = await db.fetchrow(
        "SELECT occurred_at, context FROM interactions WHERE message_id = $1", message_id
    )
    assert abs(row["occurred_at"] - (happened - skew)) < timedelta(seconds=5)
    assert orjson.loads(row["context"]) == {"ip": "1.2.3.4"}


async def test_nul_characters_are_refused_naming_the_field(interactions, http, write_auth, db):
    """PostgreSQL text cannot hold NUL; the raw documents are stored as `json`, which would,
    so the API refuses such calls itself, one by one."""
    good = unique("msg")
    batch = {
        "batch": [
            {"type": "track", "event": "Ok", "anonymousId": unique("anon"), "messageId": good},
            {
                "type": "track",
                "event": "Nul",
                "anonymousId": unique("anon"),
                "properties": {"items": [{"note": "a\x00b"}]},
            },
            {"type": "page", "anonymousId": "x\x00", "messageId": unique("bad")},
            {"type": "page", "anonymousId": unique("anon"), "properties": {"k\x00": 1}},
        ]
    }
    response = await http.post(f"{interactions}/v1/batch", json=batch, headers=write_auth)
    assert response.status_code == 200, response.text
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [
        (1, "properties.items.0.note"),
        (2, "anonymousId"),
        (3, "properties.k\\u0000"),
    ]
    assert await count(db, [good]) == 1

    single = await http.post(
        f"{interactions}/v1/identify",
        json={"userId": unique("user"), "traits": {"name": "\x00"}},
        headers=write_auth,
    )
    assert single.status_code == 422 and single.json()["errors"][0]["field"] == "traits.name"

    shared_context = {
        "batch": [{"type": "page", "anonymousId": unique("anon")}],
        "context": {"userAgent": "\x00"},
    }
    response = await http.post(f"{interactions}/v1/batch", json=shared_context, headers=write_auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "context.userAgent"
