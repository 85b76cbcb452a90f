"""`ecrm demo` against the running stack: it runs as a user runs it (a subprocess with the
stack's environment), then what it did is checked through the public APIs. The plan is
deterministic for a seed, so the test knows who was meant to do what."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from ecrm.demo import DEMO_TAG, Persona, plan
from ecrm.embedded import PROJECT_ROOT
from ecrm.embedded.stack import inherited_env
from tests.support.events import eventually

SEED, CUSTOMERS = 4242, 20
PERSONAS = plan(CUSTOMERS, SEED)


@pytest.fixture(scope="module")
def demo_run(stack: Any) -> subprocess.CompletedProcess[str]:
    env = inherited_env(stack.settings) | {"COLUMNS": "120"}
    argv = [
        sys.executable,
        "-m",
        "ecrm.cli",
        "demo",
        "--seconds",
        "20",
        "--customers",
        str(CUSTOMERS),
        "--seed",
        str(SEED),
    ]
    return subprocess.run(
        argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=150
    )


@pytest.fixture
async def api(gateway: str, admin: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=15) as client:
        yield client


async def each(personas: list[Persona], check: Callable[[Persona], Awaitable[Any]]) -> list:
    return await asyncio.gather(*(check(p) for p in personas))


async def customer_of(api: httpx.AsyncClient, persona: Persona) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        response = await api.get("/api/v1/customers", params={"email": persona.email})
        items = response.json()["items"]
        return items[0] if items else None

    return await eventually(found, timeout=30)


def test_the_demo_runs_to_the_end_and_prints_what_it_created(demo_run):
    assert demo_run.returncode == 0, demo_run.stdout + demo_run.stderr
    out = demo_run.stdout
    assert f"seed {SEED}" in out and "What the demo created" in out
    for line in (
        "customers created",
        "page views",
        "orders placed",
        "tickets mailed in",
        "agent replies",
        "deals opened",
        "campaigns sent",
    ):
        assert line in out, out
    assert "error:" not in out


async def test_every_planned_customer_exists_with_the_signup_details(demo_run, api):
    customers = await each(PERSONAS, lambda p: customer_of(api, p))
    for persona, customer in zip(PERSONAS, customers, strict=True):
        if persona.signs_up:
            assert customer["first_name"] == persona.first_name
            assert set(customer["tags"]) == {DEMO_TAG, *persona.tags}
            wanted = "subscribed" if persona.subscribed else "unsubscribed"
            assert customer["consent"]["email"] == wanted


async def channels_of(api: httpx.AsyncClient, persona: Persona) -> dict[str, set[str]]:
    """The customer's timeline as {channel: {types}}, once it holds what the persona did."""
    customer = await customer_of(api, persona)
    wanted = ({"web": {"page", "identify", "track"}} if persona.pages else {}) | (
        {persona.order.channel: {"OrderPlaced"}} if persona.order else {}
    )

    async def timeline() -> dict[str, set[str]] | None:
        response = await api.get(
            f"/api/v1/customers/{customer['id']}/timeline", params={"limit": 500}
        )
        seen: dict[str, set[str]] = {}
        for item in response.json()["items"]:
            seen.setdefault(item["channel"], set()).add(item["type"])
        done = all(types <= seen.get(channel, set()) for channel, types in wanted.items())
        return seen if done else None

    return await eventually(timeline, timeout=30)


async def test_timelines_hold_the_web_visits_and_the_orders(demo_run, api):
    shoppers = [p for p in PERSONAS if p.pages and p.order]
    assert shoppers
    for persona, seen in zip(
        shoppers, await each(shoppers, lambda p: channels_of(api, p)), strict=True
    ):
        assert {"page", "identify", "track"} <= seen["web"]
        assert "OrderPlaced" in seen[persona.order.channel]
        assert "contacts" in seen or not persona.signs_up


async def test_tickets_came_in_by_mail_and_were_answered(demo_run, api):
    writers = [p for p in PERSONAS if p.ticket]
    for persona in writers:
        assert persona.ticket is not None
        found = await api.get("/api/v1/tickets", params={"requester_email": persona.email})
        (ticket,) = found.json()["items"]
        assert (ticket["channel"], ticket["subject"]) == ("email", persona.ticket.subject)
        assert ticket["status"] == ("resolved" if persona.ticket.resolved else "open")
        thread = (await api.get(f"/api/v1/tickets/{ticket['id']}/messages")).json()["items"]
        kinds = [m["author_kind"] for m in thread]
        assert kinds == ["customer", "agent"] + (["customer"] if persona.ticket.replies else [])


async def test_deals_went_through_the_pipeline_and_scores_count(demo_run, api):
    buyers = [p for p in PERSONAS if p.deal]
    for persona in buyers:
        assert persona.deal is not None
        customer = await customer_of(api, persona)
        deals = (await api.get("/api/v1/deals", params={"customer_id": customer["id"]})).json()
        (deal,) = deals["items"]
        assert deal["stage"] == persona.deal.stages[-1]
    rules = (await api.get("/api/v1/scoring/rules")).json()["items"]
    assert {"kind": "page", "match": "/pricing"} in [
        {"kind": r["kind"], "match": r["match"]} for r in rules
    ]
    pricing = next(p for p in PERSONAS if "/pricing" in p.pages and not p.signs_up)

    async def scored() -> float | None:
        customer = await customer_of(api, pricing)
        card = await api.get(f"/api/v1/customers/{customer['id']}/score")
        return card.json()["score"] if card.status_code == 200 and card.json()["score"] else None

    assert await eventually(scored, timeout=30) >= 15


async def test_the_campaign_went_to_its_segment(demo_run, api):
    listed = (await api.get("/api/v1/campaigns", params={"limit": 500})).json()["items"]
    (campaign,) = [c for c in listed if c["name"] == f"Spring collection (demo seed {SEED})"]
    audience = {p.email for p in PERSONAS if p.signs_up and "vip" in p.tags and p.subscribed}
    messages = await api.get(f"/api/v1/campaigns/{campaign['id']}/messages", params={"limit": 1000})
    recipients = {m["email"] for m in messages.json()["items"]}
    assert recipients and recipients <= audience  # who signed up before the launch

    async def delivered() -> dict[str, Any] | None:
        stats = (await api.get(f"/api/v1/campaigns/{campaign['id']}/stats")).json()
        return stats if stats["pending"] == 0 else None

    stats = await eventually(delivered, timeout=30)
    assert stats["recipients"] == stats["delivered"] == len(recipients)
