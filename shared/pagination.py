"""Opaque cursors for `?limit=&cursor=` lists: the last row's sort key, base64url JSON."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from shared.errors import invalid


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError):
        raise invalid("cursor", "not a cursor returned by this list") from None


def page(items: list[Any], limit: int, key_of: Any) -> dict[str, Any]:
    """`items` was fetched with limit + 1 rows: the extra one only says there is more."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(key_of(items[-1])) if more else None}
