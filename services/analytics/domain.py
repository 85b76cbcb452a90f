"""Pure rules of analytics: which channel an event belongs to, time buckets, rates, series."""

from __future__ import annotations

import functools
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.cloudevents import Envelope, event_name

# Events whose data names the channel they came through (web/mobile/server, store/online,
# email/web/api); any other event belongs to its owner's channel.
CHANNEL_FIELD = frozenset(
    {"InteractionRecorded", "VisitorInteractionRecorded", "OrderPlaced", "TicketOpened"}
)
CHANNEL_LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
CAMPAIGN_MESSAGE_TOPIC = "ecrm.campaigns.message"
MAX_LABEL = 64


@functools.lru_cache(maxsize=256)  # topics, event types and channel values repeat
def owner_of(topic: str) -> str:
    """`ecrm.support.ticket` -> `support`."""
    parts = topic.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "ecrm" else "unknown"


def channel_of(env: Envelope) -> str:
    """The channel an event came through: the event's own `channel` where its contract has one,
    email for campaign messages, else the owning service's name."""
    if env.topic == CAMPAIGN_MESSAGE_TOPIC:
        return "email"
    if event_name(env.type) in CHANNEL_FIELD:
        value = env.data.get("channel")
        label = _channel_label(value) if isinstance(value, str) else None
        if label:
            return label
    return owner_of(env.topic)


@functools.lru_cache(maxsize=1024)
def _channel_label(value: str) -> str | None:
    label = value.strip().lower()
    return label if CHANNEL_LABEL.match(label) else None


def minute_of(moment: datetime | None, now: datetime | None = None) -> datetime:
    return _minute_at(_epoch_minute(moment or now or datetime.now(UTC)))


def count_by_minute(envs: Iterable[Envelope], now: datetime) -> Counter[tuple[datetime, str, str]]:
    """(minute, event type, channel) -> events, for one batch. Every event of the stream passes
    here: it is counted under plain keys (minutes since the epoch, the CloudEvents type), which
    become datetimes and labels once per distinct key."""
    now_minute = _epoch_minute(now)
    raw = Counter(
        (_epoch_minute(e.time) if e.time else now_minute, e.type, channel_of(e)) for e in envs
    )
    counts: Counter[tuple[datetime, str, str]] = Counter()
    for (minute, ce_type, channel), n in raw.items():
        counts[(_minute_at(minute), event_name(ce_type)[:MAX_LABEL], channel)] += n
    return counts


def _epoch_minute(moment: datetime) -> int:
    if moment.tzinfo is None:  # naive times are UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() // 60)


def _minute_at(epoch_minute: int) -> datetime:
    return datetime.fromtimestamp(epoch_minute * 60, UTC)


def minute_series(
    rows: Iterable[dict[str, Any]], start: datetime, minutes: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows of (minute, channel, count) -> every minute of the window, zeros included."""
    channels = sorted({r["channel"] for r in rows})
    by_minute: dict[datetime, dict[str, int]] = {}
    for r in rows:
        slot = by_minute.setdefault(r["minute"], {})
        slot[r["channel"]] = slot.get(r["channel"], 0) + int(r["count"])
    series = []
    for i in range(minutes):
        minute = start + timedelta(minutes=i)
        counts = by_minute.get(minute, {})
        series.append(
            {
                "minute": minute,
                "total": sum(counts.values()),
                "by_channel": {c: counts.get(c, 0) for c in channels},
            }
        )
    return channels, series


def day_series(days: int, today: date) -> list[date]:
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def ratio(part: int | float, whole: int | float) -> float | None:
    """part / whole rounded to 4 places; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def funnel_figures(row: dict[str, Any]) -> dict[str, Any]:
    """The stage counts of a campaign (or journey) and the rates marketers read.

    A click counts as an open too (the pixel is often blocked): opened >= clicked always.
    Rates are over delivered messages (sent minus bounced), click-to-open over opened.
    """
    sent, opened, clicked = int(row["sent"]), int(row["opened"]), int(row["clicked"])
    unsubscribed, bounced = int(row["unsubscribed"]), int(row["bounced"])
    delivered = max(sent - bounced, 0)
    return {
        "sent": sent,
        "delivered": delivered,
        "opened": opened,
        "clicked": clicked,
        "unsubscribed": unsubscribed,
        "bounced": bounced,
        "rates": {
            "open": ratio(opened, delivered),
            "click": ratio(clicked, delivered),
            "click_to_open": ratio(clicked, opened),
            "unsubscribe": ratio(unsubscribed, delivered),
            "bounce": ratio(bounced, sent),
        },
    }


def median_seconds(durations: Iterable[float]) -> float | None:
    values = [d for d in durations if d >= 0]
    return round(statistics.median(values), 1) if values else None


def is_resolution(to_status: str) -> bool:
    return to_status.strip().lower() == "resolved"


def is_first_response(author_kind: str, visibility: str) -> bool:
    """An agent's public reply answers the customer; an internal note does not."""
    return author_kind.lower() == "agent" and visibility.lower() == "public"


def is_email_unsubscribe(data: dict[str, Any]) -> bool:
    """A ConsentChanged that withdraws email consent."""
    return data.get("channel") == "email" and data.get("state") == "unsubscribed"
