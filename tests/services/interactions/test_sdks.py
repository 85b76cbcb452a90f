"""Segment's and RudderStack's own Python clients, unchanged, against the running service:
anonymous page -> identify (with email) -> track; the resolved customer's timeline shows all
three, newest first."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from tests.support.events import eventually
from tests.support.infra import WRITE_KEY

CLIENTS = {"segment": SegmentClient, "rudderstack": RudderClient}


def drive(client_type: Any, host: str, anonymous_id: str, user_id: str, email: str) -> list[Any]:
    """The three calls a site makes, in sync mode: each is sent when the call returns."""
    errors: list[Any] = []
    client = client_type(
        write_key=WRITE_KEY,
        host=host,
        sync_mode=True,
        gzip=True,
        on_error=lambda error, items: errors.append(error),
    )
    client.page(anonymous_id=anonymous_id, name="Pricing", properties={"path": "/pricing"})
    client.identify(
        user_id=user_id, anonymous_id=anonymous_id, traits={"email": email, "firstName": "Grace"}
    )
    client.track(
        user_id=user_id,
        anonymous_id=anonymous_id,
        event="Trial Started",
        properties={"plan": "pro"},
    )
    client.flush()
    return errors


@pytest.mark.parametrize("library", sorted(CLIENTS))
async def test_library_calls_land_on_the_resolved_customers_timeline(
    library, interactions, contacts, http, auth, email
):
    anonymous_id, user_id = f"anon-{uuid.uuid4()}", f"user-{uuid.uuid4()}"
    errors = await asyncio.to_thread(
        drive, CLIENTS[library], interactions, anonymous_id, user_id, email
    )
    assert errors == []

    async def customer_id() -> str | None:
        found = await http.get(
            f"{contacts}/api/v1/customers", params={"email": email}, headers=auth
        )
        items = found.json()["items"]
        return items[0]["id"] if items else None

    customer = await eventually(customer_id, timeout=30)

    async def web_timeline() -> list[dict] | None:
        response = await http.get(
            f"{interactions}/api/v1/customers/{customer}/timeline",
            params={"channel": "web"},
            headers=auth,
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return items if len(items) >= 3 else None

    items = await eventually(web_timeline, timeout=30)
    assert [i["type"] for i in items] == ["track", "identify", "page"]
    assert items[0]["summary"] == "Trial Started" and items[0]["data"]["properties"] == {
        "plan": "pro"
    }
    assert items[2]["data"]["path"] == "/pricing"
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
