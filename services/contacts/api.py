"""Contacts HTTP routes: parse -> decide -> store -> respond."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response

from services.contacts.domain import (
    ConsentIn,
    CustomerIn,
    CustomerPatch,
    IdentifyIn,
    MergeIn,
    normalise_email,
    normalise_phone,
)
from services.contacts.store import customers, identify, merge, rows, search
from shared.auth import scoped
from shared.errors import invalid, not_found
from shared.http import JSON, service_router, with_etag
from shared.http import if_match as version_in
from shared.ids import parse_uuid
from shared.pagination import decode_cursor, page

router = service_router("/api/v1/customers", "customers")
READ, WRITE = scoped("contacts:read"), scoped("contacts:write")


def _pool(request: Request) -> Any:
    return request.app.state.runtime.db


def _id(value: str, field: str = "id") -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise not_found("customer", value) if field == "id" else invalid(field, "not a customer id")
    return parsed


@router.post("", status_code=201, **WRITE)
async def create_customer(body: CustomerIn, request: Request) -> JSON:
    runtime = request.app.state.runtime
    async with runtime.db.acquire() as conn:
        row = await customers.create(conn, body)
        if runtime.relay_wakeup is not None:  # the one-statement create does not NOTIFY
            runtime.relay_wakeup.poke()
        idents = await rows.identities_of(conn, row["id"]) if body.identities else []
    out = rows.public(row, idents)
    return with_etag(out, 201, f"/api/v1/customers/{out['id']}")


@router.post("/identify", responses={201: {"description": "a new customer was created"}}, **WRITE)
async def identify_customer(body: IdentifyIn, request: Request) -> JSON:
    if not body.email and not body.identities:
        raise invalid("email", "an email or at least one identity is required")
    async with _pool(request).acquire() as conn, conn.transaction():
        row, created = await identify.identify(
            conn, body.email, [(i.kind, i.value) for i in body.identities], body.traits
        )
        idents = await rows.identities_of(conn, row["id"])
    return JSON(
        {**rows.public(row, idents), "created": created}, status_code=201 if created else 200
    )


@router.get("", **READ)
async def list_customers(
    request: Request,
    email: str | None = None,
    phone: str | None = None,
    tag: str | None = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    stage: str | None = None,
    updated_since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor)
    query = search.CustomerQuery(
        email=_normalised(email, normalise_email, "email"),
        phone=_normalised(phone, normalise_phone, "phone"),
        tag=tag,
        name=name,
        stage=stage,
        updated_since=updated_since,
        after=uuid.UUID(after) if after else None,
        limit=limit,
    )
    async with _pool(request).acquire() as conn:
        found = await search.search(conn, query)
    return page([rows.public(r) for r in found], limit, lambda c: c["id"])


def _normalised(value: str | None, rule: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        return rule(value)
    except ValueError as exc:
        raise invalid(field, str(exc)) from None


@router.get("/{customer_id}", **READ)
async def get_customer(customer_id: str, request: Request) -> JSON:
    async with _pool(request).acquire() as conn:
        row = await rows.resolve(conn, _id(customer_id))
        if row is None:
            raise not_found("customer", customer_id)
        idents = await rows.identities_of(conn, row["id"])
    return with_etag(rows.public(row, idents))


@router.patch("/{customer_id}", **WRITE)
async def patch_customer(
    customer_id: str,
    body: CustomerPatch,
    request: Request,
    if_match: Annotated[str | None, Header()] = None,
) -> JSON:
    async with _pool(request).acquire() as conn:
        row = await customers.patch(conn, _id(customer_id), body, version_in(if_match))
    return with_etag(rows.public(row))


@router.delete("/{customer_id}", status_code=204, **WRITE)
async def delete_customer(customer_id: str, request: Request) -> Response:
    async with _pool(request).acquire() as conn:
        await customers.delete(conn, _id(customer_id))
    return Response(status_code=204)


@router.post("/{customer_id}/merge", **WRITE)
async def merge_customers(customer_id: str, body: MergeIn, request: Request) -> JSON:
    merged_id = _id(body.merged_id, "merged_id")
    async with _pool(request).acquire() as conn:
        row = await merge.merge(conn, _id(customer_id), merged_id, request.state.principal)
        idents = await rows.identities_of(conn, row["id"])
    return with_etag(rows.public(row, idents))


@router.put("/{customer_id}/consent", **WRITE)
async def set_consent(customer_id: str, body: ConsentIn, request: Request) -> JSON:
    async with _pool(request).acquire() as conn:
        row = await customers.set_consent(
            conn, _id(customer_id), body.channel, body.state, body.source, body.legal_basis
        )
    return with_etag(rows.public(row))


@router.get("/{customer_id}/consent/history", **READ)
async def consent_history(customer_id: str, request: Request) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        row = await rows.resolve(conn, _id(customer_id))
        if row is None:
            raise not_found("customer", customer_id)
        history = await customers.consent_history(conn, row["id"])
    return {"customer_id": str(row["id"]), "items": history}
