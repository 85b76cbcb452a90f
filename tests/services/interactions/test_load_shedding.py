"""Past its in-flight limit an interactions worker answers 503 with Retry-After at once; what it
accepted is stored once, what it refused is not stored and is accepted when retried."""

from __future__ import annotations

import asyncio

import pytest

from tests.services.interactions.conftest import unique
from tests.services.interactions.test_tracking_api import count
from tests.support.infra import Infra


@pytest.fixture
async def one_at_a_time(infra: Infra):
    url = await infra.service("interactions", ECRM_TRACKING_MAX_IN_FLIGHT="1")
    yield url
    await infra.service("interactions", ECRM_TRACKING_MAX_IN_FLIGHT="256")  # the default again


async def test_requests_past_the_limit_are_refused_and_retries_are_accepted(
    one_at_a_time, http, write_auth, db
):
    batches = [
        {
            "batch": [
                {"type": "page", "anonymousId": unique("anon"), "messageId": unique("msg")}
                for _ in range(100)
            ]
        }
        for _ in range(12)
    ]

    async def send(body):
        return await http.post(f"{one_at_a_time}/v1/batch", json=body, headers=write_auth)

    answers = await asyncio.gather(*(send(b) for b in batches))
    refused = [b for b, r in zip(batches, answers, strict=True) if r.status_code == 503]
    accepted = [b for b, r in zip(batches, answers, strict=True) if r.status_code == 200]
    assert refused and accepted and len(refused) + len(accepted) == len(batches)
    shed = next(r for r in answers if r.status_code == 503)
    assert shed.headers["Retry-After"] == "1"
    assert shed.headers["content-type"] == "application/problem+json"
    assert shed.json()["title"] == "Overloaded"

    def ids(group):
        return [c["messageId"] for b in group for c in b["batch"]]

    assert await count(db, ids(accepted)) == len(ids(accepted))
    assert await count(db, ids(refused)) == 0
    for body in refused:  # what a client library does with a 503
        assert (await send(body)).status_code == 200
    assert await count(db, ids(batches)) == 1200
