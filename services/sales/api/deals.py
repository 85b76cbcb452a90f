"""Deals through pipeline stages, and the activities logged on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Header, Query, Request

from services.sales.api.common import (
    READ,
    WRITE,
    actor,
    field_id,
    id_cursor,
    if_match,
    path_id,
    pool,
    time_id_cursor,
    with_etag,
)
from services.sales.domain.deals import ActivityIn, ActivityPatch, DealIn, DealPatch
from services.sales.store import activities, deals
from shared.errors import not_found
from shared.http import JSON, service_router
from shared.pagination import encode_cursor, page

router = service_router("/api/v1/deals", "deals")


@router.post("", status_code=201, **WRITE)
async def create_deal(body: DealIn, request: Request) -> JSON:
    customer_id = field_id(body.customer_id, "customer_id")
    account_id = field_id(body.account_id, "account_id")
    async with pool(request).acquire() as conn:
        row = await deals.create(conn, body, customer_id, account_id, actor(request))
        history = await deals.stage_history(conn, row["id"])
    out = deals.public(row, history)
    return with_etag(out, 201, f"/api/v1/deals/{out['id']}")


@router.get("", **READ)
async def list_deals(
    request: Request,
    pipeline_id: Annotated[str | None, Query(max_length=63)] = None,
    stage: Annotated[str | None, Query(max_length=63)] = None,
    customer_id: str | None = None,
    account_id: str | None = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    query = deals.DealQuery(
        pipeline_id=pipeline_id,
        stage=stage,
        customer_id=field_id(customer_id, "customer_id"),
        account_id=field_id(account_id, "account_id"),
        owner=owner,
        after=id_cursor(cursor),
        limit=limit,
    )
    async with pool(request).acquire() as conn:
        found = await deals.search(conn, query)
    return page([deals.public(r) for r in found], limit, lambda d: d["id"])


@router.get("/activities/overdue", **READ)
async def overdue_tasks(
    request: Request,
    owner: Annotated[str | None, Query(max_length=200, description="the deal's owner")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Open tasks past their due date, the most overdue first."""
    async with pool(request).acquire() as conn:
        found = await activities.overdue(
            conn, datetime.now(UTC), owner, time_id_cursor(cursor), limit
        )
    more = len(found) > limit
    items = found[:limit]
    last = items[-1] if more else None
    return {
        "items": items,
        "next_cursor": encode_cursor([last["due_at"], last["id"]]) if last else None,
    }


@router.get("/{deal_id}", **READ)
async def get_deal(deal_id: str, request: Request) -> JSON:
    ident = path_id(deal_id, "deal")
    async with pool(request).acquire() as conn:
        row = await deals.fetch(conn, ident)
        if row is None:
            raise not_found("deal", deal_id)
        history = await deals.stage_history(conn, ident)
    return with_etag(deals.public(row, history))


@router.patch("/{deal_id}", **WRITE)
async def patch_deal(
    deal_id: str,
    body: DealPatch,
    request: Request,
    if_match_header: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSON:
    ident = path_id(deal_id, "deal")
    fields = body.model_dump(exclude_unset=True, exclude={"stage", "lost_reason"})
    if "account_id" in fields:
        fields["account_id"] = field_id(fields["account_id"], "account_id")
    change = deals.DealChange(fields, body.stage, body.lost_reason)
    async with pool(request).acquire() as conn:
        row = await deals.patch(conn, ident, change, if_match(if_match_header), actor(request))
        history = await deals.stage_history(conn, ident)
    return with_etag(deals.public(row, history))


@router.post("/{deal_id}/activities", status_code=201, **WRITE)
async def log_activity(deal_id: str, body: ActivityIn, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        row = await activities.log(conn, path_id(deal_id, "deal"), body, actor(request))
    return JSON(activities.public(row), status_code=201)


@router.get("/{deal_id}/activities", **READ)
async def deal_activities(
    deal_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        found = await activities.of_deal(conn, path_id(deal_id, "deal"), id_cursor(cursor), limit)
    return page([activities.public(r) for r in found], limit, lambda a: a["id"])


@router.patch("/{deal_id}/activities/{activity_id}", **WRITE)
async def complete_activity(
    deal_id: str, activity_id: str, body: ActivityPatch, request: Request
) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        row = await activities.set_done(
            conn, path_id(deal_id, "deal"), path_id(activity_id, "activity"), body.done
        )
    return activities.public(row)
