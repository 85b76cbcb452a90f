"""Shaping stored figures into the JSON the API returns (pure: no I/O)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.analytics import domain


def throughput(
    start: datetime, minutes: int, per_minute: list[dict[str, Any]], per_type: list[dict[str, Any]]
) -> dict[str, Any]:
    channels, series = domain.minute_series(per_minute, start, minutes)
    by_channel: Counter[str] = Counter()
    for row in per_minute:
        by_channel[row["channel"]] += int(row["count"])
    return {
        "minutes": minutes,
        "from": start,
        "to": series[-1]["minute"] if series else start,
        "total": sum(by_channel.values()),
        "channels": channels,
        "by_channel": dict(by_channel),
        "by_type": [{**r, "count": int(r["count"])} for r in per_type],
        "series": series,
    }


def campaign(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "campaign_id": row["campaign_id"],
        "name": row.get("name"),
        "segment_id": row.get("segment_id"),
        "recipients": row.get("recipients"),
        "launched_at": row.get("launched_at"),
        "first_sent_at": row.get("first_sent_at"),
        "last_activity_at": row.get("last_activity_at"),
        **domain.funnel_figures(row),
    }


def journey(row: dict[str, Any]) -> dict[str, Any]:
    return {"journey_id": row["journey_id"], **domain.funnel_figures(row)}


def support(
    days: list[date], daily: dict[date, dict[str, int]], window: dict[str, Any]
) -> dict[str, Any]:
    tickets = window["tickets"]
    answered = [
        (t["first_response_at"] - t["opened_at"]).total_seconds()
        for t in tickets
        if t["first_response_at"] is not None and t["opened_at"] is not None
    ]
    breached = sum(1 for t in tickets if t["sla_breached_at"] is not None)
    csat = window["csat"]
    empty = {"opened": 0, "resolved": 0, "sla_breaches": 0}
    return {
        "days": len(days),
        "from": days[0],
        "to": days[-1],
        "daily": [{"day": d, **daily.get(d, empty)} for d in days],
        "tickets_opened": len(tickets),
        "tickets_resolved": sum(daily.get(d, empty)["resolved"] for d in days),
        "by_channel": dict(Counter(t["channel"] or "unknown" for t in tickets)),
        "by_priority": dict(Counter(t["priority"] or "unknown" for t in tickets)),
        "first_response": {
            "median_seconds": domain.median_seconds(answered),
            "answered": len(answered),
        },
        "sla": {"breached_tickets": breached, "breach_rate": domain.ratio(breached, len(tickets))},
        "csat": {
            "average": round(csat["average"], 2) if csat["average"] is not None else None,
            "responses": int(csat["responses"]),
        },
    }


def commerce(days: list[date], rows: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    daily = []
    for row in rows:
        revenue = _money(row["revenue"])
        daily.append({**row, "orders": int(row["orders"]), "revenue": revenue})
        key = (row["channel"], row["currency"])
        slot = totals.setdefault(
            key, {"channel": key[0], "currency": key[1], "orders": 0, "revenue": 0.0}
        )
        slot["orders"] += int(row["orders"])
        slot["revenue"] = round(slot["revenue"] + revenue, 2)
    return {
        "days": len(days),
        "from": days[0],
        "to": days[-1],
        "daily": daily,
        "totals": sorted(totals.values(), key=lambda t: (-t["revenue"], t["channel"])),
    }


def _money(value: Decimal | float | None) -> float:
    return round(float(value or 0), 2)
