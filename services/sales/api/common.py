"""What every sales route shares: the pool, ids, ETags and cursors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request

from shared.auth import scoped
from shared.errors import invalid, not_found
from shared.http import if_match as if_match  # re-exported for the routes
from shared.http import with_etag as with_etag
from shared.ids import parse_uuid
from shared.pagination import decode_cursor

READ, WRITE = scoped("sales:read"), scoped("sales:write")


def pool(request: Request) -> Any:
    return request.app.state.runtime.db


def actor(request: Request) -> str:
    return getattr(request.state, "principal", "unknown")


def path_id(value: str, what: str) -> uuid.UUID:
    """An id in the path: not a UUID means no such thing (404)."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise not_found(what, value)
    return parsed


def field_id(value: str | None, field: str) -> uuid.UUID | None:
    """An id in a body or query: not a UUID is bad input naming the field (422)."""
    if value is None:
        return None
    parsed = parse_uuid(value)
    if parsed is None:
        raise invalid(field, "not a valid id (a UUID)")
    return parsed


def id_cursor(cursor: str | None) -> uuid.UUID | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    parsed = parse_uuid(after) if isinstance(after, str) else None
    if parsed is None:
        raise invalid("cursor", "not a cursor returned by this list")
    return parsed


def time_id_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    try:
        at, ident = after
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except (TypeError, ValueError):
        raise invalid("cursor", "not a cursor returned by this list") from None
