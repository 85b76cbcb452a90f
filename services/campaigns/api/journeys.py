"""Journey routes: event-triggered mails (welcome, satisfaction request, thank-you)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from services.campaigns.api.common import checked_templates, cursor_id, path_id, pool
from services.campaigns.config import get_campaign_settings
from services.campaigns.domain import JourneyIn, JourneyPatch
from services.campaigns.store import journeys, membership, messages, stats
from services.campaigns.store.segments import checked_rule
from shared.auth import scoped
from shared.http import JSON, service_router
from shared.pagination import page

router = service_router("/api/v1/journeys", "journeys")
READ, WRITE = scoped("campaigns:read"), scoped("campaigns:write")


@router.post("", status_code=201, **WRITE)
async def create_journey(body: JourneyIn, request: Request) -> JSON:
    checked_templates(body.subject, body.html)
    fields = body.model_dump()
    fields["from_address"] = body.from_address or get_campaign_settings().campaigns_from
    async with pool(request).acquire() as conn:
        if body.condition is not None:
            checked_rule(body.condition, await membership.all_rules(conn), "condition")
        out = await journeys.create(conn, fields)
    return JSON(out, status_code=201, headers={"Location": f"/api/v1/journeys/{out['id']}"})


@router.get("", **READ)
async def list_journeys(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        found = await journeys.list_page(conn, cursor_id(cursor), limit)
    return page(found, limit, lambda j: j["id"])


@router.get("/{journey_id}", **READ)
async def get_journey(journey_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return journeys.public(await journeys.fetch(conn, path_id(journey_id, "journey")))


@router.patch("/{journey_id}", **WRITE)
async def patch_journey(journey_id: str, body: JourneyPatch, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return await journeys.update(conn, path_id(journey_id, "journey"), body.changes())


@router.get("/{journey_id}/stats", **READ)
async def journey_stats(journey_id: str, request: Request) -> dict[str, Any]:
    jid = path_id(journey_id, "journey")
    async with pool(request).acquire() as conn:
        await journeys.fetch(conn, jid)
        return {"journey_id": str(jid), **await stats.of_journey(conn, jid)}


@router.get("/{journey_id}/messages", **READ)
async def journey_messages(
    journey_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    jid = path_id(journey_id, "journey")
    async with pool(request).acquire() as conn:
        await journeys.fetch(conn, jid)
        rows = await stats.messages_page(conn, "journey_id", jid, cursor_id(cursor), limit)
    return page([messages.public(r) for r in rows], limit, lambda m: m["id"])
