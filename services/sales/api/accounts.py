"""Accounts (companies) and the customers attached to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query, Request

from services.sales.api.common import (
    READ,
    WRITE,
    id_cursor,
    if_match,
    path_id,
    pool,
    with_etag,
)
from services.sales.domain.accounts import AccountIn, AccountPatch, normalise_domain
from services.sales.store import accounts
from shared.errors import invalid, not_found
from shared.http import JSON, service_router
from shared.pagination import page

router = service_router("/api/v1/accounts", "accounts")


@router.post("", status_code=201, **WRITE)
async def create_account(body: AccountIn, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        row = await accounts.create(conn, body)
    out = accounts.public(row)
    return with_etag(out, 201, f"/api/v1/accounts/{out['id']}")


@router.get("", **READ)
async def list_accounts(
    request: Request,
    q: Annotated[str | None, Query(max_length=200, description="name or domain prefix")] = None,
    domain: Annotated[str | None, Query(max_length=300)] = None,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    query = accounts.AccountQuery(
        q=q,
        domain=_domain(domain),
        industry=industry,
        owner=owner,
        after=id_cursor(cursor),
        limit=limit,
    )
    async with pool(request).acquire() as conn:
        found = await accounts.search(conn, query)
    return page([accounts.public(r) for r in found], limit, lambda a: a["id"])


def _domain(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_domain(value)
    except ValueError as exc:
        raise invalid("domain", str(exc)) from None


@router.get("/{account_id}", **READ)
async def get_account(account_id: str, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        row = await accounts.fetch(conn, path_id(account_id, "account"))
    if row is None:
        raise not_found("account", account_id)
    return with_etag(accounts.public(row))


@router.patch("/{account_id}", **WRITE)
async def patch_account(
    account_id: str,
    body: AccountPatch,
    request: Request,
    if_match_header: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSON:
    changes = body.changes()
    async with pool(request).acquire() as conn:
        row = await accounts.patch(
            conn, path_id(account_id, "account"), changes, if_match(if_match_header)
        )
    return with_etag(accounts.public(row))


@router.get("/{account_id}/customers", **READ)
async def account_customers(
    account_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    ident = path_id(account_id, "account")
    async with pool(request).acquire() as conn:
        if await accounts.fetch(conn, ident) is None:
            raise not_found("account", account_id)
        found = await accounts.customers_of(conn, ident, id_cursor(cursor), limit)
    return page(found, limit, lambda c: c["customer_id"])
