"""The ops dashboard in a real headless Chromium: it signs in, draws every chart from live
figures, refreshes by itself and logs no console error."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from ecrm.chromium import HEADLESS_ARGS, ensure_chromium
from shared.events.base import Event
from tests.services.analytics import traffic
from tests.services.analytics.publish import caught_up, publish, record
from tests.support.events import eventually

ROOT = Path(__file__).resolve().parents[3]
# Every run keeps its screenshot in tests/artifacts/; the README's copy in docs/ is refreshed
# only on request (ECRM_UPDATE_DOCS=1), so a test run leaves the tree clean.
SCREENSHOTS = (ROOT / "tests" / "artifacts" / "ops-dashboard.png",) + (
    (ROOT / "docs" / "ops-dashboard.png",) if os.environ.get("ECRM_UPDATE_DOCS") == "1" else ()
)


def test_chromium_is_available():
    """CI installs Debian's chromium through ensure_chromium(); without it this suite fails."""
    path = ensure_chromium()
    assert path, "Debian's chromium is needed (apt-get install -y chromium) and could not be had"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    path = ensure_chromium()
    assert path, "Debian's chromium is needed (apt-get install -y chromium) and could not be had"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, headless=True, args=list(HEADLESS_ARGS)
        )
        yield launched
        await launched.close()


def half_an_hour_of_traffic(now: datetime, with_orders: bool) -> list[dict]:
    """Every channel, minute by minute: web, mobile and server touches, new customers, a
    campaign and its reactions, tickets by email and web with SLA and CSAT (and orders, when
    no interactions service runs to place them for real)."""
    rng = random.Random(7)
    records = []
    this_minute = now.replace(second=0, microsecond=0)
    for ago in range(30, 0, -1):  # one batch in each past minute
        at = this_minute - timedelta(minutes=ago) + timedelta(seconds=rng.randint(0, 55))
        minute: list[Event] = [
            *traffic.touches(rng.randint(12, 30), "web", at),
            *traffic.touches(rng.randint(4, 12), "mobile", at),
            *traffic.touches(rng.randint(1, 5), "server", at),
            *traffic.customers(rng.randint(1, 3)),
        ]
        if with_orders:
            minute += traffic.orders(rng.randint(1, 4), "store", at, rng.choice([19.9, 42.0]))
            minute += traffic.orders(rng.randint(0, 3), "online", at, rng.choice([29.0, 64.9]))
        records += [record(e, at=at) for e in minute]
    campaign = traffic.Campaign(60, now - timedelta(minutes=25), name="Black Friday")
    reactions = [campaign.opened(i) for i in range(34)] + [campaign.clicked(i) for i in range(14)]
    reactions += [campaign.bounced(i) for i in range(56, 60)]
    records += [record(e, at=now - timedelta(minutes=20)) for e in campaign.launch() + reactions]
    records += [record(campaign.unsubscribed(i, minutes=15)) for i in range(2)]
    for day in range(13, -1, -1):
        for n in range(rng.randint(2, 6)):
            opened = now - timedelta(days=day, hours=n + 1)
            life = traffic.ticket(
                opened,
                rng.choice(["email", "email", "web"]),
                response_after=timedelta(minutes=rng.randint(5, 90)),
                resolved_after=timedelta(hours=rng.randint(1, 20)) if n % 3 else None,
                breach=n % 4 == 3,
                rating=rng.choice([3, 4, 5, 5]) if n % 2 else None,
            )
            records += [record(e, at=opened) for e in life]
    return records


async def place_orders(interactions: str, token: str, count: int) -> None:
    """Store and online orders through the real orders API (the store channel)."""
    rng = random.Random(11)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=15) as http:
        for i in range(count):
            price, quantity = rng.choice([9.95, 19.9, 42.0]), rng.randint(1, 3)
            order = {
                "order_id": f"dash-{traffic.uid()[:12]}",
                "store_id": "paris-1" if i % 3 else "web-shop",
                "channel": "store" if i % 3 else "online",
                "email": f"shopper{i % 12}@example.com",
                "currency": "EUR",
                "lines": [{"sku": f"SKU-{i % 5}", "quantity": quantity, "unit_price": price}],
                "total": round(price * quantity, 2),
                "placed_at": datetime.now(UTC).isoformat(),
            }
            response = await http.post(f"{interactions}/api/v1/orders", json=order, headers=auth)
            assert response.status_code == 201, response.text


async def orders_counted(analytics: str, token: str) -> bool:
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=15) as http:
        body = (
            await http.get(f"{analytics}/api/v1/analytics/commerce?days=1", headers=auth)
        ).json()
    return sum(t["orders"] for t in body["totals"]) > 0


async def open_dashboard(page: Page, url: str, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)


# lag is read live; under load a health probe can miss one round: wait for both groups
WITH_LAG_OF_BOTH = """() => {
  const d = window.ecrmDashboard;
  const groups = d.charts.lag ? d.charts.lag.data.datasets.map((s) => s.label) : [];
  return d.refreshes >= 2 && groups.includes("analytics") && groups.includes("contacts");
}"""

CHART_TOTALS = """() => {
  const d = window.ecrmDashboard, sum = (a) => a.reduce((x, y) => x + (y || 0), 0);
  const c = d.charts;
  return {
    refreshes: d.refreshes,
    channels: c.throughput.data.datasets.map((s) => s.label),
    throughput: sum(c.throughput.data.datasets.flatMap((s) => s.data)),
    lagGroups: c.lag.data.datasets.map((s) => s.label),
    lagPoints: c.lag.data.labels.length,
    funnel: c.funnel.data.datasets[0].data,
    support: sum(c.support.data.datasets[0].data),
    services: document.querySelectorAll('#services tbody tr').length,
    queues: Array.from(document.querySelectorAll('#queues tbody tr')).map((r) => r.textContent),
    revenue: document.getElementById('tile-revenue').textContent,
    csat: document.getElementById('fig-csat').textContent,
  };
}"""


async def test_dashboard_shows_live_figures_without_console_errors(infra, stack, browser):
    analytics, interactions = stack["analytics"], stack.get("interactions")
    history = half_an_hour_of_traffic(datetime.now(UTC), with_orders=interactions is None)
    await publish(infra.bootstrap, history)
    if interactions:
        await place_orders(interactions, infra.token("interactions:write"), 40)
    token = infra.token("analytics:read", "ops:read")
    await eventually(lambda: orders_counted(analytics, token), timeout=30)
    await caught_up(infra.bootstrap)
    page = await browser.new_page(viewport={"width": 1440, "height": 1200})
    errors: list[str] = []
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.split("?")[0].rsplit("/", 1)[-1]))
    await open_dashboard(page, f"{analytics}/ops?token={token}", errors)
    await page.wait_for_function(WITH_LAG_OF_BOTH, timeout=30000)

    shown = await page.evaluate(CHART_TOTALS)
    assert {"web", "mobile", "server", "store", "online", "email", "contacts"} <= set(
        shown["channels"]
    )
    assert shown["throughput"] > 500
    services = await page.evaluate("window.ecrmDashboard.latest.ops.services")
    assert {"analytics", "contacts"} <= set(shown["lagGroups"]), services
    assert shown["lagPoints"] >= 2
    sent, _delivered, opened, clicked, unsubscribed, bounced = shown["funnel"]
    assert sent >= 60 and opened >= 34 and clicked >= 14 and bounced >= 4 and unsubscribed >= 2
    assert shown["support"] > 0 and "/ 5" in shown["csat"]
    assert "EUR" in shown["revenue"] and shown["services"] >= 2
    queues = await page.evaluate("window.ecrmDashboard.latest.ops.queues.services")
    assert any(q["queue"] == "privacy_requests_open" for q in queues), queues  # contacts'
    waiting = [f"{q['service']} · {q['queue']}" for q in queues if q["waiting"] > 0]
    if waiting:
        assert len(shown["queues"]) == len(waiting), (shown["queues"], waiting)
        assert all(row.startswith(w) for row, w in zip(shown["queues"], waiting, strict=True))
    else:
        assert shown["queues"] == ["no work waiting"]
    # support and commerce are asked for at the first refresh and every tenth after it
    refreshes = await page.evaluate("window.ecrmDashboard.refreshes")
    assert asked.count("overview") >= refreshes >= 2 and asked.count("funnel") >= refreshes
    assert 1 <= asked.count("support") <= 1 + refreshes // 10  # one may be on its way
    assert 1 <= asked.count("commerce") <= 1 + refreshes // 10
    assert "token=" not in page.url  # kept in sessionStorage, not in the address bar
    assert await page.evaluate("sessionStorage.getItem('ecrm.ops.token')") == token

    await page.reload()  # the session keeps the token: straight back to the board
    await page.wait_for_function("Number(document.body.dataset.refreshes || 0) >= 3", timeout=30000)
    assert await page.is_visible("#board") and not await page.is_visible("#login")

    for path in SCREENSHOTS:
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), full_page=True)
    assert errors == []
    await page.close()


async def test_operator_signs_in_with_the_form_and_a_refused_token_is_explained(
    infra, analytics, browser
):
    page = await browser.new_page()
    errors: list[str] = []
    await open_dashboard(page, f"{analytics}/ops", errors)
    await page.wait_for_selector("#login-form", state="visible")
    assert await page.is_hidden("#board")
    assert errors == []

    await page.fill("#token", infra.token("contacts:read"))  # valid, but not for ops
    await page.click("#login-form button[type=submit]")
    await page.wait_for_function("document.getElementById('login-error').textContent !== ''")
    assert "scope" in await page.text_content("#login-error")

    await page.fill("#token", infra.token("analytics:read", "ops:read"))
    await page.click("#login-form button[type=submit]")
    await page.wait_for_function("Number(document.body.dataset.refreshes || 0) >= 1", timeout=30000)
    assert await page.is_visible("#board")
    await page.click("#signout")
    await page.wait_for_selector("#login-form", state="visible")
    assert await page.evaluate("sessionStorage.getItem('ecrm.ops.token')") is None
    await page.close()


async def test_static_files_are_served_and_the_page_needs_no_internet(infra, analytics, http):
    page = await http.get(f"{analytics}/ops")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    chart = await http.get(f"{analytics}/ops/static/chart.umd.min.js")
    assert chart.status_code == 200 and "Released under the MIT License" in chart.text[:300]
    assert (await http.get(f"{analytics}/ops/static/ops.js")).status_code == 200
    assert (await http.get(f"{analytics}/ops/static/nope.js")).status_code == 404
