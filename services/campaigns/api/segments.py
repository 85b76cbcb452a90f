"""Segment routes: create (built in SQL, a chunk of customers in the request and the rest by the
scheduler), preview, change, delete, list, members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from services.campaigns.api.common import cursor_id, path_id, pool
from services.campaigns.config import get_campaign_settings
from services.campaigns.domain import PreviewIn, SegmentIn, SegmentPatch
from services.campaigns.sending import scheduler
from services.campaigns.store import segments
from shared.auth import scoped
from shared.http import JSON, service_router
from shared.pagination import page

router = service_router("/api/v1/segments", "segments")
READ, WRITE = scoped("campaigns:read"), scoped("campaigns:write")


def _build_chunk() -> int:
    return get_campaign_settings().campaigns_build_chunk


@router.post("", status_code=201, **WRITE)
async def create_segment(body: SegmentIn, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        out = await segments.create(conn, body.name, body.rule, _build_chunk())
    if out["status"] == "building":
        scheduler.wake()
    return JSON(out, status_code=201, headers={"Location": f"/api/v1/segments/{out['id']}"})


@router.post("/preview", **WRITE)
async def preview_segment(body: PreviewIn, request: Request) -> dict[str, int]:
    async with pool(request).acquire() as conn:
        return {"count": await segments.preview(conn, body.rule)}


@router.get("", **READ)
async def list_segments(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        found = await segments.list_page(conn, cursor_id(cursor), limit)
    return page(found, limit, lambda s: s["id"])


@router.get("/{segment_id}", **READ)
async def get_segment(segment_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return segments.public(await segments.fetch(conn, path_id(segment_id, "segment")))


@router.patch("/{segment_id}", **WRITE)
async def patch_segment(segment_id: str, body: SegmentPatch, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        out = await segments.update(
            conn, path_id(segment_id, "segment"), body.name, body.rule, _build_chunk()
        )
    scheduler.wake()  # when a segment that references this one is still building
    return out


@router.delete("/{segment_id}", status_code=204, **WRITE)
async def delete_segment(segment_id: str, request: Request) -> Response:
    async with pool(request).acquire() as conn:
        await segments.delete(conn, path_id(segment_id, "segment"))
    return Response(status_code=204)


@router.get("/{segment_id}/members", **READ)
async def segment_members(
    segment_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        found = await segments.members_page(
            conn, path_id(segment_id, "segment"), cursor_id(cursor), limit
        )
    return page(found, limit, lambda m: m["customer_id"])
