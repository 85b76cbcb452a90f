"""The tracking API's HTTP edge: write-key auth (HTTP Basic, Segment's way) and bodies read
with Segment's size limits, gzip-compressed or not."""

from __future__ import annotations

import base64
import hmac
import zlib
from typing import Any

import orjson
from fastapi import Request

from services.interactions.store.write_keys import WriteKeys
from shared.errors import Problem
from shared.http import read_body, too_large


def write_keys(request: Request) -> list[str]:
    settings = request.app.state.runtime.settings
    configured = [k.strip() for k in (settings.write_keys or "").split(",") if k.strip()]
    if configured:
        return configured
    key_file = settings.home / "write.key"  # the embedded stack's key, when none is configured
    return [key_file.read_text().strip()] if key_file.exists() else []


def basic_user(request: Request) -> str | None:
    """The user name of an `Authorization: Basic` header (the write key), else None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized("use HTTP Basic with the write key as user name")
    try:
        user, _, _ = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise unauthorized("the Basic credentials cannot be decoded") from None
    return user


_ROTATED = WriteKeys()


async def check_write_key(request: Request, key: str | None) -> None:
    """Configured keys (unless retired by a rotation) and keys added by `ecrm writekey rotate`."""
    await _ROTATED.refresh(request.app.state.runtime.db)
    given = (key or "").encode("utf-8", "surrogatepass")
    configured = [k for k in write_keys(request) if key and hmac.compare_digest(given, k.encode())]
    if not key or not _ROTATED.allows(key, configured):
        raise unauthorized("the write key is missing or not valid")


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        errors=[{"field": "Authorization", "message": detail}],
        headers={"WWW-Authenticate": 'Basic realm="tracking"'},
    )


async def read_json_body(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, decompressed; 413 past `limit` bytes (after decompression)."""
    raw = await read_body(request, limit)
    body = _decoded(raw, request.headers.get("content-encoding", ""), limit)
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        raise _bad_request("body", "the body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise _bad_request("body", "the body must be a JSON object")
    return parsed


def _decoded(raw: bytes, encoding: str, limit: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise Problem(
            415,
            "Unsupported media type",
            f"Content-Encoding {encoding!r} is not supported (use gzip)",
            errors=[{"field": "Content-Encoding", "message": "gzip, deflate or none"}],
        )
    wbits = zlib.MAX_WBITS | 16 if encoding != "deflate" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise _bad_request("Content-Encoding", f"the body is not valid {encoding}") from None
    if len(out) > limit:
        raise too_large(limit)
    if not inflater.eof:
        raise _bad_request("Content-Encoding", f"the {encoding} body is truncated")
    return out


def _bad_request(field: str, message: str) -> Problem:
    return Problem(400, "Bad request", message, errors=[{"field": field, "message": message}])
