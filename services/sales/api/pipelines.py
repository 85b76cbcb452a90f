"""Pipelines: their stages, the board, the weighted forecast and the stats."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.sales.api.common import READ, WRITE, pool
from services.sales.domain.deals import PipelineIn
from services.sales.store import pipelines, reports
from shared.http import JSON, service_router

router = service_router("/api/v1/pipelines", "pipelines")


@router.post("", status_code=201, **WRITE)
async def create_pipeline(body: PipelineIn, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        out = await pipelines.create(conn, body)
    return JSON(out, status_code=201, headers={"Location": f"/api/v1/pipelines/{out['id']}"})


@router.get("", **READ)
async def list_pipelines(request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return {"items": await pipelines.listed(conn), "next_cursor": None}


@router.get("/{pipeline_id}", **READ)
async def get_pipeline(pipeline_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return await pipelines.get(conn, pipeline_id)


@router.get("/{pipeline_id}/board", **READ)
async def pipeline_board(pipeline_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return await reports.board(conn, pipeline_id)


@router.get("/{pipeline_id}/forecast", **READ)
async def pipeline_forecast(pipeline_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return await reports.forecast(conn, pipeline_id)


@router.get("/{pipeline_id}/stats", **READ)
async def pipeline_stats(pipeline_id: str, request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return await reports.stats(conn, pipeline_id)
