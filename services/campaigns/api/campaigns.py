"""Campaign routes: create (templates checked), send now or at a time, stats, messages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from services.campaigns.api.common import body_id, checked_templates, cursor_id, path_id, pool
from services.campaigns.config import get_campaign_settings
from services.campaigns.domain import CampaignIn, SendIn
from services.campaigns.sending import scheduler
from services.campaigns.store import campaigns, messages, stats
from shared.auth import scoped
from shared.http import JSON, service_router
from shared.pagination import page

router = service_router("/api/v1/campaigns", "campaigns")
READ, WRITE = scoped("campaigns:read"), scoped("campaigns:write")


@router.post("", status_code=201, **WRITE)
async def create_campaign(body: CampaignIn, request: Request) -> JSON:
    checked_templates(body.subject, body.html)
    fields = body.model_dump()
    fields["segment_id"] = body_id(body.segment_id, "segment_id")
    fields["from_address"] = body.from_address or get_campaign_settings().campaigns_from
    async with pool(request).acquire() as conn:
        out = await campaigns.create(conn, fields)
    return JSON(out, status_code=201, headers={"Location": f"/api/v1/campaigns/{out['id']}"})


@router.get("", **READ)
async def list_campaigns(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        found = await campaigns.list_page(conn, cursor_id(cursor), limit)
    return page(found, limit, lambda c: c["id"])


@router.get("/{campaign_id}", **READ)
async def get_campaign(campaign_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return campaigns.public(await campaigns.fetch(conn, path_id(campaign_id, "campaign")))


@router.post("/{campaign_id}/send", status_code=202, **WRITE)
async def send_campaign(campaign_id: str, request: Request, body: SendIn | None = None) -> JSON:
    at = body.at if body else None
    async with pool(request).acquire() as conn:
        out = await campaigns.send(conn, path_id(campaign_id, "campaign"), at)
    if out["status"] == "launching":
        scheduler.wake()
    return JSON(out, status_code=202)


@router.get("/{campaign_id}/stats", **READ)
async def campaign_stats(campaign_id: str, request: Request) -> dict[str, Any]:
    cid = path_id(campaign_id, "campaign")
    async with pool(request).acquire() as conn:
        await campaigns.fetch(conn, cid)
        return {"campaign_id": str(cid), **await stats.of_campaign(conn, cid)}


@router.get("/{campaign_id}/messages", **READ)
async def campaign_messages(
    campaign_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    cid = path_id(campaign_id, "campaign")
    async with pool(request).acquire() as conn:
        await campaigns.fetch(conn, cid)
        rows = await stats.messages_page(conn, "campaign_id", cid, cursor_id(cursor), limit)
    return page([messages.public(r) for r in rows], limit, lambda m: m["customer_id"])
