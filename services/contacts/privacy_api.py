"""Privacy routes: erasure and export requests, their status and document, unmerge, the audit.

Writing needs `contacts:write` or `privacy:write`; reading `contacts:read` or `privacy:read`.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from services.contacts.domain import MergeIn
from services.contacts.store import privacy, privacy_requests, rows, unmerge
from shared.auth import authorize
from shared.errors import Problem, conflict, invalid, not_found
from shared.http import JSON
from shared.ids import parse_uuid

ANY_SCOPE = "x-any-scope"


def any_scope(*scopes: str) -> dict[str, Any]:
    return {"openapi_extra": {ANY_SCOPE: list(scopes), "security": [{"bearer": []}]}}


READ = any_scope("contacts:read", "privacy:read")
WRITE = any_scope("contacts:write", "privacy:write")


class AnyScopeRoute(APIRoute):
    """Checks that the token holds one of the route's scopes before anything is read."""

    def get_route_handler(self):  # type: ignore[no-untyped-def]
        handler = super().get_route_handler()
        scopes = (self.openapi_extra or {}).get(ANY_SCOPE)
        if not scopes:
            return handler

        async def guarded(request: Request):  # type: ignore[no-untyped-def]
            authorize_any(request, scopes)
            return await handler(request)

        return guarded


def authorize_any(request: Request, scopes: list[str]) -> None:
    refused: Problem | None = None
    for scope in scopes:
        try:
            authorize(request, scope)
            return
        except Problem as problem:
            if problem.status != 403:
                raise
            refused = problem
    assert refused is not None
    raise Problem(403, "Forbidden", f"the token lacks one of the scopes {', '.join(scopes)}")


router = APIRouter(
    prefix="/api/v1", tags=["privacy"], route_class=AnyScopeRoute, strict_content_type=False
)


def _pool(request: Request) -> Any:
    return request.app.state.runtime.db


def _customer(value: str, field: str = "id") -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise not_found("customer", value) if field == "id" else invalid(field, "not a customer id")
    return parsed


def _request_id(value: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise not_found("privacy request", value)
    return parsed


@router.post("/customers/{customer_id}/erase", status_code=202, **WRITE)
async def erase_customer(customer_id: str, request: Request) -> JSON:
    async with _pool(request).acquire() as conn:
        request_id = await privacy.erase(conn, _customer(customer_id), request.state.principal)
    return _accepted(request_id)


@router.post("/customers/{customer_id}/export", status_code=202, **WRITE)
async def export_customer(customer_id: str, request: Request) -> JSON:
    async with _pool(request).acquire() as conn:
        request_id = await privacy.export(conn, _customer(customer_id), request.state.principal)
    return _accepted(request_id)


def _accepted(request_id: str) -> JSON:
    location = f"/api/v1/privacy/requests/{request_id}"
    return JSON({"request_id": request_id}, status_code=202, headers={"Location": location})


@router.post("/customers/{customer_id}/unmerge", **WRITE)
async def unmerge_customer(customer_id: str, body: MergeIn, request: Request) -> JSON:
    merged_id = _customer(body.merged_id, "merged_id")
    survivor_id = _customer(customer_id)
    async with _pool(request).acquire() as conn:
        survivor, restored = await unmerge.unmerge(
            conn, survivor_id, merged_id, request.state.principal
        )
        identities = await rows.identities_of(conn, restored["id"])
    return JSON({"survivor": rows.public(survivor), "restored": rows.public(restored, identities)})


@router.get("/privacy/requests/{request_id}", **READ)
async def request_status(request_id: str, request: Request) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        return await privacy_requests.request_status(conn, _request_id(request_id))


@router.get("/privacy/requests/{request_id}/download", **READ)
async def download_export(request_id: str, request: Request) -> JSON:
    async with _pool(request).acquire() as conn:
        status = await privacy_requests.request_status(conn, _request_id(request_id))
        if status["kind"] != "export":
            raise conflict("only an export request has a document to download")
        if status["status"] != "completed":
            pending = [s for s, state in status["services"].items() if state == "pending"]
            raise conflict(
                "the export is not complete yet", pending=pending, headers={"Retry-After": "5"}
            )
        if status["expired_at"]:
            raise Problem(410, "Gone", "the export document has expired; request a new export")
        doc = await privacy_requests.document(conn, status)
    disposition = f'attachment; filename="export-{status["request_id"]}.json"'
    return JSON(doc, headers={"Content-Disposition": disposition})


@router.get("/privacy/audit", **READ)
async def audit_trail(customer_id: str, request: Request) -> dict[str, Any]:
    parsed = _customer(customer_id, "customer_id")
    async with _pool(request).acquire() as conn:
        items = await privacy_requests.audit_trail(conn, parsed)
    return {"customer_id": str(parsed), "items": items}
