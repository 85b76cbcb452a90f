"""Tickets: open, read, list and change (status, priority, assignment, tags)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query, Request

from services.support.api.common import (
    csat_url,
    if_match,
    mail_domain,
    parse_id,
    pool,
    resolved_mail,
    with_etag,
)
from services.support.domain import Priority, Status, TicketIn, TicketPatch, normalise_email
from services.support.store import listing, rows
from services.support.store.changes import patch_ticket
from services.support.store.lifecycle import NewTicket, open_ticket
from shared.auth import scoped
from shared.errors import invalid
from shared.http import JSON, service_router
from shared.ids import parse_uuid
from shared.pagination import decode_cursor, page

router = service_router("/api/v1/tickets", "tickets")
READ, WRITE = scoped("support:read"), scoped("support:write")


async def _represent(conn: Any, request: Request, row: Any) -> dict[str, Any]:
    out = rows.public(row, await rows.csat_of(conn, row["id"]))
    done = row["status"] in ("resolved", "closed")
    out["csat_url"] = csat_url(request, row["id"]) if done else None
    return out


@router.post("", status_code=201, **WRITE)
async def create_ticket(body: TicketIn, request: Request) -> JSON:
    by_customer = body.channel == "web"
    new = NewTicket(
        subject=body.subject,
        body=body.body,
        requester_email=body.requester_email,
        channel=body.channel,
        priority=body.priority,
        assignee=body.assignee,
        team=body.team,
        tags=body.tags,
        author=body.requester_email if by_customer else request.state.principal,
        author_kind="customer" if by_customer else "agent",
    )
    async with pool(request).acquire() as conn:
        async with conn.transaction():
            ticket, _ = await open_ticket(conn, new, mail_domain())
        out = await _represent(conn, request, ticket)
    return with_etag(out, 201, f"/api/v1/tickets/{out['id']}")


@router.get("", **READ)
async def list_tickets(
    request: Request,
    requester_email: str | None = None,
    customer_id: str | None = None,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Priority | None = None,
    assignee: str | None = None,
    team: str | None = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor)
    query = listing.TicketQuery(
        requester_email=_email_or_422(requester_email),
        customer_id=parse_id(customer_id, "customer", "customer_id") if customer_id else None,
        statuses=status,
        priority=priority,
        assignee=assignee,
        team=team,
        tag=tag.strip().lower() if tag else None,
        after=parse_uuid(after) if isinstance(after, str) else None,
        limit=limit,
    )
    async with pool(request).acquire() as conn:
        found = await listing.search(conn, query)
    return page([rows.public(r) for r in found], limit, lambda t: t["id"])


def _email_or_422(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_email(value)
    except ValueError as exc:
        raise invalid("requester_email", str(exc)) from None


@router.get("/{ticket_id}", **READ)
async def get_ticket(ticket_id: str, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        row = await rows.get_or_404(conn, parse_id(ticket_id, "ticket"))
        return with_etag(await _represent(conn, request, row))


@router.patch("/{ticket_id}", **WRITE)
async def patch(
    ticket_id: str,
    body: TicketPatch,
    request: Request,
    if_match_header: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSON:
    async with pool(request).acquire() as conn:
        row = await patch_ticket(
            conn,
            parse_id(ticket_id, "ticket"),
            body,
            if_match(if_match_header),
            resolved_mail(request),
            mail_domain(),
        )
        return with_etag(await _represent(conn, request, row))
