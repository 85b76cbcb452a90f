"""Ops figures: health, consumer lag per group and partition, outbox, dead letters, errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from services.analytics.ops.collector import CACHE_S, KEEPALIVE_S, OpsCollector
from shared.cloudevents import headers_for
from shared.events.campaigns import MessageOpened
from tests.services.analytics import traffic
from tests.services.analytics.publish import caught_up, publish_events, publish_raw
from tests.support.events import eventually


async def test_ops_overview_reports_every_part(infra, analytics_and_contacts, http, reader):
    analytics, _ = analytics_and_contacts
    await publish_events(infra.bootstrap, traffic.touches(3, "web", datetime.now(UTC)))
    await caught_up(infra.bootstrap)

    published_at = datetime.now(UTC)

    async def both_up() -> dict | None:
        body = (await http.get(f"{analytics}/api/v1/ops/overview", headers=reader)).json()
        status = {s["name"]: s["status"] for s in body["services"]}
        # a snapshot cached from before the touches were published does not show them yet
        fresh = datetime.fromisoformat(body["collected_at"]) > published_at
        return body if fresh and status["analytics"] == status["contacts"] == "ok" else None

    body = await eventually(both_up, timeout=20)
    services = {s["name"]: s for s in body["services"]}
    assert "ecrm.interactions.interaction" in services["analytics"]["topics"]
    groups = {g["group"]: g for g in body["lag"]["groups"]}
    assert {"analytics", "contacts"} <= set(groups)
    parts = [
        p
        for p in groups["analytics"]["partitions"]
        if p["topic"] == "ecrm.interactions.interaction"
    ]
    assert parts and all(p["lag"] == max(0, p["end"] - p["committed"]) for p in parts)
    outbox = {o["service"]: o for o in body["outbox"]["services"]}
    assert outbox["analytics"]["backlog"] == 0 and outbox["contacts"]["backlog"] == 0
    errors = {e["service"]: e for e in body["errors"]["services"]}
    assert {"relay_errors_per_s", "consumer_errors_per_s", "http_5xx_per_s"} <= set(
        errors["analytics"]
    )
    assert isinstance(body["dlq"]["total"], int)
    queues = {(q["service"], q["queue"]): q for q in body["queues"]["services"]}
    open_requests = queues[("contacts", "privacy_requests_open")]  # contacts' own queue
    assert open_requests["waiting"] >= 0 and "oldest_s" in open_requests

    # cached for about a second: polling dashboards share one collection
    again = (await http.get(f"{analytics}/api/v1/ops/lag", headers=reader)).json()
    assert again["collected_at"] == body["collected_at"] and "lag" in again


async def test_a_poison_event_shows_in_dead_letters_and_error_figures(
    infra, analytics, http, reader
):
    topic = "ecrm.campaigns.message"
    url = f"{analytics}/api/v1/ops/overview"

    def parked(body: dict) -> int:
        return next((t["count"] for t in body["dlq"]["topics"] if t["topic"] == f"{topic}.dlq"), 0)

    def parked_by_analytics(body: dict) -> float:
        return next(e for e in body["errors"]["services"] if e["service"] == "analytics")[
            "dead_lettered_total"
        ]

    first = (await http.get(url, headers=reader)).json()
    before, before_ours = parked(first), parked_by_analytics(first)
    # unreadable data for its type (no message id): retried, then parked; later events flow
    bad = headers_for(uuid.uuid4(), MessageOpened.ce_type(), "/campaigns", datetime.now(UTC), None)
    await publish_raw(infra.bootstrap, topic, b'{"customer_id": "x"}', bad)
    campaign = traffic.Campaign(1, datetime.now(UTC))
    await publish_events(infra.bootstrap, campaign.launch())

    async def dead_lettered() -> dict | None:
        body = (await http.get(url, headers=reader)).json()
        return body if parked_by_analytics(body) == before_ours + 1 else None

    # other services consuming the topic may park the record too: the topic holds at least ours
    body = await eventually(dead_lettered, timeout=30)
    assert parked(body) >= before + 1
    errors = {e["service"]: e for e in body["errors"]["services"]}
    assert errors["analytics"]["consumer_errors_total"] >= 1

    async def flowed() -> bool:
        r = await http.get(f"{analytics}/api/v1/analytics/funnel/{campaign.id}", headers=reader)
        return r.status_code == 200 and r.json()["sent"] == 1

    await eventually(flowed, timeout=30)


async def test_ops_parts_need_the_ops_scope(infra, analytics, http):
    for part in ("overview", "services", "lag", "outbox", "dlq", "errors"):
        assert (await http.get(f"{analytics}/api/v1/ops/{part}")).status_code == 401
    token = {"Authorization": f"Bearer {infra.token('ops:read')}"}
    body = (await http.get(f"{analytics}/api/v1/ops/dlq", headers=token)).json()
    assert set(body) == {"collected_at", "dlq"}


async def test_lag_and_dead_letters_are_exposed_to_prometheus(infra, analytics, http):
    async def exposed() -> str | None:
        text = (await http.get(f"{analytics}/metrics")).text
        return text if 'ecrm_consumer_lag{group="analytics"' in text else None

    text = await eventually(exposed, timeout=40, interval=1)
    assert 'ecrm_service_up{name="analytics"} 1.0' in text


async def test_the_collector_keeps_one_http_client_across_collections(
    infra, analytics_and_contacts
):
    collector = OpsCollector(infra.settings())

    async def statuses() -> dict[str, str]:
        snapshot = await collector.snapshot()
        return {s["name"]: s["status"] for s in snapshot["services"]}

    try:
        first = await statuses()
        client = collector._http
        # past the cache and the client's keep-alive expiry: its idle connections are gone
        await asyncio.sleep(KEEPALIVE_S + CACHE_S)
        second = await statuses()
        assert collector._http is client and client is not None
        assert first["analytics"] == second["analytics"] == "ok"
        assert first["contacts"] == second["contacts"] == "ok"
        await collector.aclose()
        await asyncio.sleep(CACHE_S)
        assert (await statuses())["contacts"] == "ok"  # closed, then made again when needed
    finally:
        await collector.aclose()
