"""The public satisfaction survey behind a signed link (no bearer token)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Depends, Request

from services.support import csat_token
from services.support.api.common import pool
from services.support.domain import RatingIn
from services.support.store import csat
from shared.errors import Problem
from shared.http import JSON, service_router
from shared.ratelimit import limit_public

router = service_router("/api/v1/csat", "csat")
router.dependencies.append(Depends(limit_public))


def _ticket_of(request: Request, token: str) -> uuid.UUID:
    try:
        return csat_token.verify(request.app.state.runtime.signing_key, token)
    except csat_token.BadToken:
        raise Problem(
            400,
            "Invalid link",
            "the rating link is malformed",
            errors=[{"field": "token", "message": "not a rating link"}],
        ) from None
    except csat_token.TamperedToken:
        raise Problem(
            403,
            "Invalid link",
            "the rating link's signature does not match",
            errors=[{"field": "token", "message": "signature mismatch"}],
        ) from None


@router.get("/{token}")
async def show_survey(token: str, request: Request) -> dict[str, Any]:
    ticket_id = _ticket_of(request, token)
    async with pool(request).acquire() as conn:
        return await csat.survey(conn, ticket_id)


@router.post("/{token}", status_code=201)
async def rate(token: str, body: RatingIn, request: Request) -> JSON:
    ticket_id = _ticket_of(request, token)
    async with pool(request).acquire() as conn:
        return JSON(await csat.rate(conn, ticket_id, body.rating, body.comment), status_code=201)
