"""Signed CSAT links: `<ticket id>.<HMAC-SHA256>` in base64url; nothing else to trust."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

_PURPOSE = b"ecrm.support.csat.v1:"


class BadToken(ValueError):
    """Not a token of ours at all (unreadable)."""


class TamperedToken(ValueError):
    """Readable, but the signature does not match."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: str, ticket_id: uuid.UUID) -> bytes:
    return hmac.new(key.encode(), _PURPOSE + ticket_id.bytes, hashlib.sha256).digest()


def sign(key: str, ticket_id: uuid.UUID) -> str:
    return f"{_b64(ticket_id.bytes)}.{_b64(_signature(key, ticket_id))}"


def verify(key: str, token: str) -> uuid.UUID:
    """The ticket id the token was issued for; BadToken or TamperedToken otherwise."""
    head, dot, sig = token.partition(".")
    try:
        ticket_id = uuid.UUID(bytes=_unb64(head))
        given = _unb64(sig)
    except (ValueError, TypeError):
        raise BadToken("not a satisfaction link token") from None
    if not dot or not hmac.compare_digest(given, _signature(key, ticket_id)):
        raise TamperedToken("the link's signature does not match")
    return ticket_id
