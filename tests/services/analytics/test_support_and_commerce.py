"""Support (per day, first response, SLA, CSAT) and commerce (orders, revenue per channel)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from tests.services.analytics import traffic
from tests.services.analytics.publish import caught_up, publish, publish_events, record
from tests.support.events import eventually


def a_quiet_day() -> date:
    """A past day only this test writes to: windows ending on it are this test's alone."""
    return datetime.now(UTC).date() - timedelta(days=random.randint(60, 3000))


async def test_support_figures_per_day_and_window(infra, analytics, http, reader):
    day = a_quiet_day()
    morning = datetime.combine(day, time(9), UTC)
    tickets = [
        traffic.ticket(
            morning,
            "email",
            response_after=timedelta(minutes=10),
            resolved_after=timedelta(hours=2),
            rating=5,
        ),
        traffic.ticket(
            morning,
            "web",
            response_after=timedelta(minutes=30),
            resolved_after=timedelta(hours=3),
            rating=3,
        ),
        traffic.ticket(morning, "email", response_after=timedelta(minutes=50), breach=True),
        traffic.ticket(morning - timedelta(days=1), "api", breach=True),  # the day before
    ]
    events = [e for t in tickets for e in t]
    await publish_events(infra.bootstrap, events)
    await publish(infra.bootstrap, [record(e) for e in events[:4]])  # the same facts, again
    url = f"{analytics}/api/v1/analytics/support?days=2&until={day.isoformat()}"

    async def figures() -> dict | None:
        body = (await http.get(url, headers=reader)).json()
        return body if body["tickets_opened"] == 4 and body["csat"]["responses"] == 2 else None

    body = await eventually(figures, timeout=30)
    await caught_up(infra.bootstrap)
    body = (await http.get(url, headers=reader)).json()
    assert body["daily"] == [
        {
            "day": (day - timedelta(days=1)).isoformat(),
            "opened": 1,
            "resolved": 0,
            "sla_breaches": 1,
        },
        {"day": day.isoformat(), "opened": 3, "resolved": 2, "sla_breaches": 1},
    ]
    assert body["first_response"] == {"median_seconds": 1800.0, "answered": 3}
    assert body["sla"] == {"breached_tickets": 2, "breach_rate": 0.5}
    assert body["csat"] == {"average": 4.0, "responses": 2}
    assert body["by_channel"] == {"email": 2, "web": 1, "api": 1}
    assert body["tickets_resolved"] == 2

    one_day = (await http.get(f"{url.replace('days=2', 'days=1')}", headers=reader)).json()
    assert one_day["tickets_opened"] == 3 and one_day["from"] == day.isoformat()


async def test_commerce_orders_and_revenue_per_channel_and_day(infra, analytics, http, reader):
    day = a_quiet_day()
    noon = datetime.combine(day, time(12), UTC)
    store = traffic.orders(3, "store", noon, 20.0)
    online = traffic.orders(2, "online", noon, 49.99)
    dollars = traffic.orders(1, "online", noon, 10.0, currency="USD")
    await publish_events(infra.bootstrap, [*store, *online, *dollars])
    # the same order told twice (another event id): one order
    await publish_events(infra.bootstrap, [store[0]])
    url = f"{analytics}/api/v1/analytics/commerce?days=1&until={day.isoformat()}"

    async def figures() -> dict | None:
        body = (await http.get(url, headers=reader)).json()
        return body if sum(t["orders"] for t in body["totals"]) == 6 else None

    await eventually(figures, timeout=30)
    await caught_up(infra.bootstrap)
    body = (await http.get(url, headers=reader)).json()
    assert body["totals"] == [
        {"channel": "online", "currency": "EUR", "orders": 2, "revenue": 99.98},
        {"channel": "store", "currency": "EUR", "orders": 3, "revenue": 60.0},
        {"channel": "online", "currency": "USD", "orders": 1, "revenue": 10.0},
    ]
    assert {(d["day"], d["channel"], d["currency"]) for d in body["daily"]} == {
        (day.isoformat(), "online", "EUR"),
        (day.isoformat(), "store", "EUR"),
        (day.isoformat(), "online", "USD"),
    }


async def test_windows_are_validated_and_need_the_scope(infra, analytics, http, reader):
    base = f"{analytics}/api/v1/analytics"
    for path in (
        "/support?days=0",
        "/commerce?days=400",
        "/support?until=yesterday",
        "/commerce?days=235&until=0001-07-19",  # the window would start before year 1
        "/support?until=9999-12-31",  # and end after 9999
    ):
        response = await http.get(base + path, headers=reader)
        assert response.status_code == 422, path
        field = response.json()["errors"][0]["field"]
        assert field.split(".")[-1] in {"days", "until"}, field
    assert (await http.get(f"{base}/commerce")).status_code == 401
    wrong = {"Authorization": f"Bearer {infra.token('contacts:read')}"}
    assert (await http.get(f"{base}/throughput", headers=wrong)).status_code == 403
    assert (await http.get(f"{analytics}/api/v1/ops/overview", headers=wrong)).status_code == 403
    only_analytics = {"Authorization": f"Bearer {infra.token('analytics:read')}"}
    assert (await http.get(f"{base}/support", headers=only_analytics)).status_code == 200
    ops = await http.get(f"{analytics}/api/v1/ops/overview", headers=only_analytics)
    assert ops.status_code == 403
