"""The unified timeline and the customer's figures, read by customer id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request

from services.interactions.store import identities, metrics, timeline
from shared.auth import scoped
from shared.errors import invalid, not_found
from shared.http import JSON, service_router
from shared.ids import parse_uuid
from shared.pagination import decode_cursor, page

router = service_router("/api/v1/customers", "timeline")
READ = scoped("interactions:read")


async def _live_customer(conn: Any, customer_id: str) -> uuid.UUID:
    parsed = parse_uuid(customer_id)
    if parsed is None:
        raise not_found("customer", customer_id)
    live = await identities.live_customer(conn, parsed)
    if live is None:
        raise not_found("customer", customer_id)
    return live


@router.get("/{customer_id}/timeline", **READ)
async def customer_timeline(
    customer_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    channel: Annotated[str | None, Query(description="comma-separated channels")] = None,
    type: Annotated[str | None, Query(description="comma-separated types")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Every touch from every channel, newest first. A merged customer's id shows the
    survivor's timeline; an id never seen has an empty one."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise invalid(name, "must carry a time zone (e.g. 2025-01-31T10:00:00Z)")
    after = _cursor(cursor)
    async with request.app.state.runtime.db.acquire() as conn:
        customer = await _live_customer(conn, customer_id)
        rows = await timeline.read(
            conn,
            customer,
            channels=_list(channel),
            types=_list(type),
            since=since,
            until=until,
            after=after,
            limit=limit,
        )
    result = page(rows, limit, lambda r: [r["occurred_at"].isoformat(), str(r["id"])])
    return {"customer_id": str(customer), **result}


@router.get("/{customer_id}/metrics", **READ)
async def customer_metrics(customer_id: str, request: Request) -> JSON:
    async with request.app.state.runtime.db.acquire() as conn:
        customer = await _live_customer(conn, customer_id)
        figures = await metrics.get(conn, customer)
    return JSON(figures)


def _list(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def _cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    try:
        return datetime.fromisoformat(after[0]), uuid.UUID(after[1])
    except (ValueError, TypeError, IndexError, KeyError):
        raise invalid("cursor", "not a cursor returned by this list") from None
