"""Analytics HTTP routes (scope `analytics:read`): throughput, the funnel, support, commerce."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query, Request

from services.analytics import domain, reports
from services.analytics.store import commerce, counts, funnel, support
from shared.auth import scoped
from shared.errors import invalid, not_found
from shared.http import JSON, service_router
from shared.pagination import decode_cursor, encode_cursor

router = service_router("/api/v1/analytics", "analytics")
READ = scoped("analytics:read")
Days = Annotated[int, Query(ge=1, le=366, description="window in days, `until` included")]
Until = Annotated[date | None, Query(description="last day of the window (UTC); default today")]


def _pool(request: Request) -> Any:
    return request.app.state.runtime.db


def _day_window(days: int, until: date | None) -> tuple[list[date], datetime, datetime]:
    last = until or datetime.now(UTC).date()
    if last.toordinal() < days or last >= date.max:  # the window and its end must be dates
        earliest = date.fromordinal(days).isoformat()
        raise invalid("until", f"{days} days must end between {earliest} and 9999-12-30")
    listed = domain.day_series(days, last)
    start = datetime.combine(listed[0], datetime.min.time(), UTC)
    return listed, start, start + timedelta(days=days)


@router.get("/throughput", **READ)
async def get_throughput(
    request: Request,
    minutes: Annotated[int, Query(ge=1, le=1440, description="window incl. this minute")] = 60,
    event_type: Annotated[
        str | None, Query(alias="type", max_length=64, description="one event type")
    ] = None,
) -> JSON:
    """Events per minute and channel, and per type and channel, over the last `minutes`."""
    end = domain.minute_of(datetime.now(UTC)) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    async with _pool(request).acquire() as conn:
        per_minute = await counts.per_minute_and_channel(conn, start, end, event_type)
        per_type = await counts.per_type_and_channel(conn, start, end, event_type)
    return JSON(reports.throughput(start, minutes, per_minute, per_type))


@router.get("/funnel", **READ)
async def list_funnels(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    days: Days = 30,
) -> JSON:
    """Campaigns, most recent first, each with its funnel; totals and journeys over `days`."""
    after = _funnel_cursor(cursor)
    since = datetime.now(UTC).date() - timedelta(days=days - 1)  # whole UTC days, today's too
    async with _pool(request).acquire() as conn:
        rows = await funnel.campaign_page(conn, limit + 1, after)
        totals = await funnel.totals(conn, since)
        journeys = await funnel.journeys(conn, since)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return JSON(
        {
            "items": [reports.campaign(r) for r in rows],
            "next_cursor": encode_cursor([last["sort_at"].isoformat(), last["campaign_id"]])
            if more and last
            else None,
            "days": days,
            "totals": domain.funnel_figures(totals),
            "journeys": [reports.journey(r) for r in journeys],
        }
    )


def _funnel_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        moment, campaign_id = key
        return datetime.fromisoformat(moment), str(campaign_id)
    except (TypeError, ValueError):
        raise invalid("cursor", "not a cursor returned by this list") from None


@router.get("/funnel/{campaign_id}", **READ)
async def get_funnel(campaign_id: str, request: Request) -> JSON:
    """One campaign's funnel: sent, delivered, opened, clicked, unsubscribed, bounced, rates."""
    if len(campaign_id) > 200:
        raise not_found("campaign", campaign_id[:40] + "...")
    async with _pool(request).acquire() as conn:
        row = await funnel.one_campaign(conn, campaign_id)
    if row is None:
        raise not_found("campaign", campaign_id)
    return JSON(reports.campaign(row))


@router.get("/support", **READ)
async def get_support(request: Request, days: Days = 30, until: Until = None) -> JSON:
    """Tickets opened and resolved per day, median first response, SLA breach rate, CSAT."""
    listed, start, end = _day_window(days, until)
    async with _pool(request).acquire() as conn:
        daily = await support.daily(conn, start, end)
        window = await support.window_figures(conn, start, end)
    return JSON(reports.support(listed, daily, window))


@router.get("/commerce", **READ)
async def get_commerce(request: Request, days: Days = 30, until: Until = None) -> JSON:
    """Orders and revenue per day, channel (store, online) and currency."""
    listed, start, end = _day_window(days, until)
    async with _pool(request).acquire() as conn:
        rows = await commerce.per_day(conn, start, end)
    return JSON(reports.commerce(listed, rows))
