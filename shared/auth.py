"""Signed bearer tokens with scopes (HS256 JWT), and the FastAPI dependency that checks them.

A token carries `scopes`; `*` grants every scope. Missing or invalid token -> 401; a valid token
without the operation's scope -> 403. Both are decided before any body validation or lookup
(`ScopedRoute` checks before FastAPI parses the request).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable

import jwt
from fastapi import Request
from fastapi.routing import APIRoute

from shared.errors import Problem

ALGORITHM = "HS256"
ADMIN_SCOPE = "*"


def issue_token(
    signing_key: str, scopes: Iterable[str], subject: str = "admin", ttl_days: int = 365
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "scopes": sorted(set(scopes)),
        "iat": now,
        "exp": now + ttl_days * 86400,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, signing_key, algorithm=ALGORITHM)


_VERIFIED: dict[tuple[str, str], dict] = {}
_VERIFIED_MAX = 10_000


def decode_token(signing_key: str, token: str) -> dict:
    """Return the claims, or raise Problem(401). Verified tokens are remembered until they expire
    (checking the signature was a tenth of a customer create's CPU time)."""
    cached = _VERIFIED.get((signing_key, token))
    if cached is not None and cached["exp"] > time.time():
        return cached
    claims = _verify(signing_key, token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(signing_key, token)] = claims
    return claims


def _verify(signing_key: str, token: str) -> dict:
    try:
        return jwt.decode(token, signing_key, algorithms=[ALGORITHM], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise Problem(401, "Token expired", "the bearer token has expired") from None
    except jwt.InvalidTokenError:
        raise Problem(401, "Invalid token", "the bearer token is not valid") from None


def unverified_claims(token: str) -> dict:
    """The claims of a token without checking it (to revoke a token by value)."""
    try:
        return jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.InvalidTokenError:
        raise Problem(400, "Not a token", "the value is not a token issued by ecrm") from None


def has_scope(granted: Iterable[str], needed: str) -> bool:
    granted = set(granted)
    return ADMIN_SCOPE in granted or needed in granted


def new_write_key() -> str:
    return "wk_" + secrets.token_urlsafe(24)


def authorize(request: Request, scope: str) -> dict:
    """Check the bearer token for `scope`; raise 401/403 problems. Returns the claims."""
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "Unauthorized",
            "an Authorization: Bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = decode_token(request.app.state.signing_key, token.strip())
    revoked = getattr(request.app.state, "revoked", None)
    if revoked is not None and claims.get("jti") in revoked:
        raise Problem(401, "Token revoked", "the bearer token has been revoked")
    if not has_scope(claims.get("scopes", []), scope):
        raise Problem(403, "Forbidden", f"the token lacks the scope {scope!r}")
    request.state.principal = claims.get("sub", "unknown")
    return claims


SCOPE_KEY = "x-required-scope"


def scoped(scope: str) -> dict:
    """Route keyword arguments: `@router.get(path, **scoped("contacts:read"))`."""
    return {"openapi_extra": {SCOPE_KEY: scope, "security": [{"bearer": []}]}}


class ScopedRoute(APIRoute):
    """Checks the route's scope before FastAPI reads or validates anything of the request."""

    def get_route_handler(self):  # type: ignore[no-untyped-def]
        handler = super().get_route_handler()
        scope = (self.openapi_extra or {}).get(SCOPE_KEY)
        if scope is None:
            return handler

        async def guarded(request: Request):  # type: ignore[no-untyped-def]
            authorize(request, scope)
            return await handler(request)

        return guarded
