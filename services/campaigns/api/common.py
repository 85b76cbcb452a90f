"""Helpers shared by the campaigns routes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from services.campaigns import templates
from shared.errors import invalid, not_found
from shared.ids import parse_uuid
from shared.pagination import decode_cursor


def pool(request: Request) -> Any:
    return request.app.state.runtime.db


def path_id(value: str, what: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise not_found(what, value)
    return parsed


def body_id(value: str, field: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise invalid(field, "not an id")
    return parsed


def cursor_id(cursor: str | None) -> uuid.UUID | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    parsed = parse_uuid(str(after))
    if parsed is None:
        raise invalid("cursor", "not a cursor returned by this list")
    return parsed


def checked_templates(subject: str, html: str) -> None:
    """A 422 naming `subject` or `html` when a template is refused."""
    for field, source, is_html in (("subject", subject, False), ("html", html, True)):
        try:
            templates.check(source, is_html=is_html)
        except templates.TemplateProblem as exc:
            raise invalid(field, str(exc)) from None
