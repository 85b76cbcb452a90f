"""What the support routes share: the pool, id parsing, ETags, CSAT links."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import Request

from services.support import csat_token
from services.support.config import get_support_settings
from shared.errors import invalid, not_found
from shared.http import JSON
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


def with_etag(body: dict[str, Any], status: int = 200, location: str | None = None) -> JSON:
    headers = {"ETag": f'"{body["version"]}"'}
    if location:
        headers["Location"] = location
    return JSON(body, status_code=status, headers=headers)


def if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise invalid("If-Match", "must be an ETag returned by this API") from None


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
