"""What the support routes share: the pool, id parsing, ETags, CSAT links."""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import Request

from services.support import csat_token
from services.support.config import get_support_settings
from shared.errors import invalid, not_found
from shared.http import if_match as if_match  # re-exported for the routes
from shared.http import with_etag as with_etag
from shared.ids import parse_uuid


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.db


def mail_domain() -> str:
    return get_support_settings().mail_domain


def parse_id(value: str, what: str, field: str = "id") -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise not_found(what, value) if field == "id" else invalid(field, f"not a {what} id")
    return parsed


def csat_url(request: Request, ticket_id: uuid.UUID) -> str:
    runtime = request.app.state.runtime
    token = csat_token.sign(runtime.signing_key, ticket_id)
    return f"{runtime.settings.public_base_url}/api/v1/csat/{token}"


def resolved_mail(request: Request):  # type: ignore[no-untyped-def]
    """The body of the mail sent when a ticket is resolved, with its rating link."""

    def body(ticket: asyncpg.Record) -> str:
        return (
            f'Your request [#{ticket["ref"]}] "{ticket["subject"]}" has been resolved.\n\n'
            "How did we do? Rate our help from 1 to 5 here:\n"
            f"{csat_url(request, ticket['id'])}\n\n"
            "If something is still wrong, just reply to this mail and the ticket opens again.\n"
        )

    return body
