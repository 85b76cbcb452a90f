"""Pure rules of analytics: channels, minute buckets, series, funnel rates, support figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from services.analytics import domain, reports
from shared.cloudevents import Envelope

T0 = datetime(2026, 11, 25, 12, 30, 42, 123, tzinfo=UTC)


def env(name: str, topic: str, data: dict | None = None, time: datetime | None = T0) -> Envelope:
    owner = topic.split(".")[1]
    return Envelope(
        id="e",
        type=f"ecrm.{owner}.{name}.v1",
        source="/t",
        subject=None,
        time=time,
        key=None,
        data=data or {},
        topic=topic,
        partition=0,
        offset=0,
    )


def test_channel_comes_from_the_contract_then_the_owner():
    assert (
        domain.channel_of(
            env("InteractionRecorded", "ecrm.interactions.interaction", {"channel": "mobile"})
        )
        == "mobile"
    )
    assert (
        domain.channel_of(env("OrderPlaced", "ecrm.interactions.order", {"channel": " Store "}))
        == "store"
    )
    assert (
        domain.channel_of(env("TicketOpened", "ecrm.support.ticket", {"channel": "email"}))
        == "email"
    )
    assert domain.channel_of(env("MessageOpened", "ecrm.campaigns.message")) == "email"
    # a channel field on another event type is not a channel of origin
    assert (
        domain.channel_of(env("ConsentChanged", "ecrm.contacts.customer", {"channel": "email"}))
        == "contacts"
    )
    # unusable values fall back to the owner
    for bad in (None, 42, "", "x" * 40, "web site", "<script>"):
        assert (
            domain.channel_of(env("OrderPlaced", "ecrm.interactions.order", {"channel": bad}))
            == "interactions"
        )
    assert domain.owner_of("weird") == "unknown"


def test_events_are_counted_per_minute_type_and_channel():
    later = T0 + timedelta(seconds=30)  # the next minute
    envs = [
        env("InteractionRecorded", "ecrm.interactions.interaction", {"channel": "web"}),
        env("InteractionRecorded", "ecrm.interactions.interaction", {"channel": "web"}),
        env("InteractionRecorded", "ecrm.interactions.interaction", {"channel": "web"}, time=later),
        env("CustomerCreated", "ecrm.contacts.customer", time=None),
    ]
    counts = domain.count_by_minute(envs, now=T0 + timedelta(hours=1))
    minute = T0.replace(second=0, microsecond=0)
    assert counts == {
        (minute, "InteractionRecorded", "web"): 2,
        (minute + timedelta(minutes=1), "InteractionRecorded", "web"): 1,
        (minute + timedelta(hours=1), "CustomerCreated", "contacts"): 1,  # no time: now
    }


def test_counts_land_in_the_utc_minute_whatever_the_offset():
    paris = timezone(timedelta(hours=1))
    envs = [
        env("OrderPlaced", "ecrm.interactions.order", {"channel": "Store"}, time=T0),
        env("OrderPlaced", "ecrm.interactions.order", {"channel": "store"},
            time=T0.astimezone(paris)),
        env("OrderPlaced", "ecrm.interactions.order", {"channel": "store"},
            time=T0.replace(tzinfo=None)),  # naive: UTC
    ]  # fmt: skip
    counts = domain.count_by_minute(envs, now=T0 + timedelta(hours=1))
    assert counts == {(T0.replace(second=0, microsecond=0), "OrderPlaced", "store"): 3}


def test_minute_of_reads_naive_times_as_utc():
    naive = datetime(2026, 1, 1, 10, 5, 59)
    assert domain.minute_of(naive) == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)


def test_minute_series_fills_every_minute_with_zeros():
    start = T0.replace(second=0, microsecond=0)
    rows = [
        {"minute": start + timedelta(minutes=2), "channel": "web", "count": 4},
        {"minute": start + timedelta(minutes=2), "channel": "store", "count": 1},
    ]
    channels, series = domain.minute_series(rows, start, 4)
    assert channels == ["store", "web"]
    assert [s["total"] for s in series] == [0, 0, 5, 0]
    assert series[0]["by_channel"] == {"store": 0, "web": 0}
    assert series[2]["by_channel"] == {"store": 1, "web": 4}


def test_funnel_rates_are_over_delivered_messages():
    figures = domain.funnel_figures(
        {"sent": 10, "opened": 6, "clicked": 3, "unsubscribed": 1, "bounced": 2}
    )
    assert figures["delivered"] == 8
    assert figures["rates"] == {
        "open": 0.75,
        "click": 0.375,
        "click_to_open": 0.5,
        "unsubscribe": 0.125,
        "bounce": 0.2,
    }
    empty = domain.funnel_figures(
        {"sent": 0, "opened": 0, "clicked": 0, "unsubscribed": 0, "bounced": 0}
    )
    assert set(empty["rates"].values()) == {None}


def test_support_rules():
    assert domain.is_first_response("agent", "public")
    assert not domain.is_first_response("agent", "internal")
    assert not domain.is_first_response("customer", "public")
    assert domain.is_resolution("Resolved") and not domain.is_resolution("closed")
    assert domain.is_email_unsubscribe({"channel": "email", "state": "unsubscribed"})
    assert not domain.is_email_unsubscribe({"channel": "sms", "state": "unsubscribed"})
    assert domain.median_seconds([30, 10, 20, -5]) == 20
    assert domain.median_seconds([]) is None


def test_support_report_over_a_window():
    day = date(2026, 11, 24)
    opened = datetime(2026, 11, 24, 9, tzinfo=UTC)
    tickets = [
        {
            "channel": "email",
            "priority": "high",
            "opened_at": opened,
            "first_response_at": opened + timedelta(minutes=10),
            "sla_breached_at": None,
        },
        {
            "channel": "web",
            "priority": "normal",
            "opened_at": opened,
            "first_response_at": None,
            "sla_breached_at": opened + timedelta(hours=1),
        },
    ]
    days = domain.day_series(2, day)
    report = reports.support(
        days,
        {day: {"opened": 2, "resolved": 1, "sla_breaches": 1}},
        {"tickets": tickets, "csat": {"responses": 3, "average": 4.333}},
    )
    assert report["daily"][0] == {
        "day": day - timedelta(days=1),
        "opened": 0,
        "resolved": 0,
        "sla_breaches": 0,
    }
    assert report["first_response"] == {"median_seconds": 600.0, "answered": 1}
    assert report["sla"] == {"breached_tickets": 1, "breach_rate": 0.5}
    assert report["csat"] == {"average": 4.33, "responses": 3}
    assert report["tickets_resolved"] == 1


def test_commerce_report_keeps_currencies_apart():
    from decimal import Decimal

    day = date(2026, 11, 24)
    rows = [
        {
            "day": day,
            "channel": "store",
            "currency": "EUR",
            "orders": 2,
            "revenue": Decimal("40.10"),
        },
        {
            "day": day,
            "channel": "store",
            "currency": "USD",
            "orders": 1,
            "revenue": Decimal("5.00"),
        },
        {
            "day": day - timedelta(days=1),
            "channel": "store",
            "currency": "EUR",
            "orders": 1,
            "revenue": Decimal("9.95"),
        },
    ]
    report = reports.commerce(domain.day_series(2, day), rows)
    assert report["totals"] == [
        {"channel": "store", "currency": "EUR", "orders": 3, "revenue": 50.05},
        {"channel": "store", "currency": "USD", "orders": 1, "revenue": 5.0},
    ]
    assert all(isinstance(d["revenue"], float) for d in report["daily"])
