"""Segment's and RudderStack's own Python clients, unchanged, pointed at the GATEWAY with the
stack's write key: anonymous page -> identify (email) -> track; the resolved customer's timeline,
read through the gateway, shows all three, newest first."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from tests.support.events import eventually

CLIENTS = {"segment": SegmentClient, "rudderstack": RudderClient}


def drive(
    client_type: Any, host: str, write_key: str, anonymous_id: str, user_id: str, email: str
) -> list[Any]:
    """What a site does, in the library's default background mode; flush sends the batch.
    The calls are a few milliseconds apart, as a person's are: Segment's library stamps them to
    the millisecond."""
    errors: list[Any] = []
    client = client_type(
        write_key=write_key,
        host=host,
        gzip=True,
        max_retries=2,
        on_error=lambda error, items: errors.append(error),
    )
    client.page(
        anonymous_id=anonymous_id,
        name="Pricing",
        properties={"path": "/pricing", "url": "https://shop.example.com/pricing"},
    )
    time.sleep(0.01)
    client.identify(
        user_id=user_id, anonymous_id=anonymous_id, traits={"email": email, "firstName": "Grace"}
    )
    time.sleep(0.01)
    client.track(
        user_id=user_id,
        anonymous_id=anonymous_id,
        event="Trial Started",
        properties={"plan": "pro"},
    )
    client.flush()
    client.join()
    return errors


@pytest.mark.parametrize("library", sorted(CLIENTS))
async def test_library_calls_through_the_gateway_land_on_the_customers_timeline(
    stack, gateway, admin, library
):
    email = f"sdk.{library}.{uuid.uuid4().hex[:10]}@example.com"
    anonymous_id, user_id = f"anon-{uuid.uuid4()}", f"user-{uuid.uuid4()}"
    errors = await asyncio.to_thread(
        drive, CLIENTS[library], gateway, stack.write_key, anonymous_id, user_id, email
    )
    assert errors == []
    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=15) as client:

        async def customer_id() -> str | None:
            found = await client.get("/api/v1/customers", params={"email": email})
            items = found.json()["items"]
            return items[0]["id"] if items else None

        customer = await eventually(customer_id, timeout=30)

        async def web_timeline() -> list[dict] | None:
            response = await client.get(
                f"/api/v1/customers/{customer}/timeline", params={"channel": "web"}
            )
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            return items if len(items) >= 3 else None

        items = await eventually(web_timeline, timeout=30)
    assert [i["type"] for i in items] == ["track", "identify", "page"]
    track, _, page = items
    assert track["summary"] == "Trial Started"
    assert track["data"]["properties"] == {"plan": "pro"}
    assert page["data"]["path"] == "/pricing"
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)


async def test_a_wrong_write_key_is_refused_at_the_gateway(gateway):
    errors = await asyncio.to_thread(
        drive, SegmentClient, gateway, "not-a-key", f"anon-{uuid.uuid4()}", "u", "x@example.com"
    )
    assert errors and all("401" in str(e) or "Unauthorized" in str(e) for e in errors), errors
