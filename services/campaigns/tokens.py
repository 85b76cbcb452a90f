"""Signed tokens for public links (open pixel, click redirect, unsubscribe): HMAC-SHA256 with
the platform signing key over the payload and its purpose, so a token of one kind never works as
another and the click target cannot be changed (no open redirect)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson


class BadToken(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, purpose: str, body: str) -> str:
    digest = hmac.new(key.encode(), f"{purpose}:{body}".encode(), hashlib.sha256).digest()
    return _b64(digest[:20])


def sign(key: str, purpose: str, payload: dict[str, Any]) -> str:
    body = _b64(orjson.dumps(payload))
    return f"{body}.{_mac(key, purpose, body)}"


def verify(key: str, purpose: str, token: str) -> dict[str, Any]:
    if not token.isascii():  # a link we made is ASCII; anything else is tampered with
        raise BadToken("the link is not valid")
    body, _, mac = token.partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(key, purpose, body)):
        raise BadToken("the link is not valid")
    try:
        payload = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        raise BadToken("the link is not valid") from None
    if not isinstance(payload, dict):
        raise BadToken("the link is not valid")
    return payload
