"""A ticket's thread: messages (replies and notes), attachments, merging two tickets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response

from services.support.api.common import mail_domain, parse_id, pool, with_etag
from services.support.domain import MergeIn, MessageIn
from services.support.store import messages, rows
from services.support.store.changes import merge_tickets
from services.support.store.replies import add_agent_message, add_customer_message
from shared.auth import scoped
from shared.errors import conflict, invalid, not_found
from shared.http import JSON, service_router
from shared.ids import parse_uuid
from shared.pagination import decode_cursor, page

router = service_router("/api/v1/tickets", "tickets")
READ, WRITE = scoped("support:read"), scoped("support:write")


@router.post("/{ticket_id}/messages", status_code=201, **WRITE)
async def add_message(ticket_id: str, body: MessageIn, request: Request) -> JSON:
    tid = parse_id(ticket_id, "ticket")
    async with pool(request).acquire() as conn, conn.transaction():
        ticket = await rows.writable(conn, tid)
        if ticket["status"] == "closed":
            raise conflict("the ticket is closed; open a new one", field="status")
        if body.author_kind == "customer":
            if body.visibility != "public":
                raise invalid("visibility", "a customer's message is always public")
            author = body.author or ticket["requester_email"] or "customer"
            ticket, message = await add_customer_message(conn, ticket, author, "web", body.body)
        else:
            author = body.author or request.state.principal
            ticket, message = await add_agent_message(
                conn, ticket, author, body.visibility, body.body, mail_domain()
            )
    out = rows.public_message(message, [])
    out["ticket_status"] = ticket["status"]
    return JSON(out, status_code=201)


@router.get("/{ticket_id}/messages", **READ)
async def list_messages(
    ticket_id: str,
    request: Request,
    visibility: Literal["public", "internal"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    tid = parse_id(ticket_id, "ticket")
    after = decode_cursor(cursor)
    async with pool(request).acquire() as conn:
        await rows.get_or_404(conn, tid)
        items = await messages.thread(
            conn, tid, parse_uuid(after) if isinstance(after, str) else None, limit, visibility
        )
    return page(items, limit, lambda m: m["id"])


@router.get("/{ticket_id}/attachments/{attachment_id}", **READ)
async def download_attachment(ticket_id: str, attachment_id: str, request: Request) -> Response:
    async with pool(request).acquire() as conn:
        row = await messages.attachment(
            conn, parse_id(ticket_id, "ticket"), parse_id(attachment_id, "attachment")
        )
    if row is None:
        raise not_found("attachment", attachment_id)
    safe_name = row["filename"].replace('"', "").replace("\r", "").replace("\n", "")
    return Response(
        row["data"],
        media_type=row["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{safe_name}"'},
    )


@router.post("/{ticket_id}/merge", **WRITE)
async def merge(ticket_id: str, body: MergeIn, request: Request) -> JSON:
    merged_id = parse_id(body.merged_id, "ticket", "merged_id")
    async with pool(request).acquire() as conn:
        row = await merge_tickets(conn, parse_id(ticket_id, "ticket"), merged_id)
        return with_etag(rows.public(row, await rows.csat_of(conn, row["id"])))
