"""SLA policies per priority (targets in seconds). Lives at /api/v1/sla/policies."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.support.api.common import pool
from services.support.domain import PRIORITIES, SlaPolicyIn
from services.support.store import sla
from shared.auth import scoped
from shared.errors import invalid, not_found
from shared.http import JSON, service_router

router = service_router("/api/v1/sla/policies", "sla")


@router.get("", **scoped("support:read"))
async def list_policies(request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return {"items": await sla.policies(conn), "next_cursor": None}


@router.put("/{priority}", **scoped("support:write"))
async def put_policy(priority: str, body: SlaPolicyIn, request: Request) -> JSON:
    if priority not in PRIORITIES:
        raise not_found("SLA policy for priority", priority)
    if body.resolution_seconds < body.first_response_seconds:
        raise invalid("resolution_seconds", "must not be shorter than first_response_seconds")
    async with pool(request).acquire() as conn:
        return JSON(
            await sla.set_policy(
                conn, priority, body.first_response_seconds, body.resolution_seconds
            )
        )
