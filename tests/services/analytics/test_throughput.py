"""Events per minute, type and channel: every topic counted, exactly once, whatever the replay."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx

from services.analytics.domain import minute_of
from tests.services.analytics import traffic
from tests.services.analytics.publish import caught_up, publish, record
from tests.support.events import eventually


def a_quiet_minute() -> datetime:
    """A minute of the last day no other test writes to (they use the current time)."""
    return minute_of(datetime.now(UTC)) - timedelta(minutes=random.randint(120, 1380))


async def minute_figures(http: httpx.AsyncClient, url: str, auth: dict, minute: datetime) -> dict:
    body = (await http.get(f"{url}/api/v1/analytics/throughput?minutes=1440", headers=auth)).json()
    slot = next(s for s in body["series"] if datetime.fromisoformat(s["minute"]) == minute)
    return {c: n for c, n in slot["by_channel"].items() if n}


async def test_every_channel_is_counted_per_minute_and_a_replay_counts_nothing(
    infra, analytics, http, reader
):
    minute = a_quiet_minute()
    at = minute + timedelta(seconds=20)
    campaign = traffic.Campaign(3, at)
    events = [
        *traffic.touches(5, "web", at),
        *traffic.touches(2, "mobile", at),
        *traffic.touches(1, "server", at),
        *traffic.orders(3, "store", at, 20.0),
        *traffic.orders(1, "online", at, 35.0),
        *campaign.launch(),
        campaign.opened(0),
        *traffic.ticket(at, "email"),
        *traffic.customers(2),
    ]
    records = [record(e, at=at) for e in events]
    await publish(infra.bootstrap, records)
    expected = {
        "web": 5,
        "mobile": 2,
        "server": 1,
        "store": 3,
        "online": 1,
        "email": 4,  # 3 sent + 1 opened; the launch belongs to campaigns
        "campaigns": 1,
        "contacts": 2,
        "support": 1,
    }  # the ticket's opening came by email, its first message is support's
    expected["email"] += 1  # TicketOpened on the email channel

    async def counted() -> dict | None:
        got = await minute_figures(http, analytics, reader, minute)
        return got if got == expected else None

    await eventually(counted, timeout=30)

    await publish(infra.bootstrap, records + records[:3])  # redelivered, some twice in one batch
    await caught_up(infra.bootstrap)
    assert await minute_figures(http, analytics, reader, minute) == expected


async def test_throughput_by_type_filters_and_validates(infra, analytics, http, reader):
    minute = a_quiet_minute()
    orders = traffic.orders(2, "store", minute, 9.5)
    await publish(infra.bootstrap, [record(e, at=minute) for e in orders])
    url = f"{analytics}/api/v1/analytics/throughput"

    async def seen() -> bool:
        body = (await http.get(f"{url}?minutes=1440&type=OrderPlaced", headers=reader)).json()
        return any(
            t == {"type": "OrderPlaced", "channel": "store", "count": t["count"]}
            and t["count"] >= 2
            for t in body["by_type"]
        )

    await eventually(seen, timeout=30)
    body = (await http.get(f"{url}?minutes=1440&type=OrderPlaced", headers=reader)).json()
    assert {t["type"] for t in body["by_type"]} == {"OrderPlaced"}
    assert len(body["series"]) == 1440 and body["minutes"] == 1440

    bad = await http.get(f"{url}?minutes=0", headers=reader)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "minutes" in bad.json()["detail"]
    assert (await http.get(f"{url}?minutes=abc", headers=reader)).status_code == 422
