"""The HTTP side every service shares: problem+json errors, request ids, metrics, health."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg
import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared import metrics
from shared.db import UNAVAILABLE
from shared.errors import Problem, invalid, malformed_json
from shared.logging import get_logger

log = get_logger(__name__)
PROBLEM = "application/problem+json"


class JSON(JSONResponse):
    """JSON rendered by orjson (datetimes, UUIDs and speed)."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=str, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:  # integers past 64 bits
            return json.dumps(content, default=str).encode()


def problem_response(problem: Problem, request: Request | None = None) -> JSON:
    instance = request.url.path if request is not None else None
    return JSON(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM,
        headers=problem.headers,
    )


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Payload too large",
        f"the body exceeds {limit // 1024} KB",
        errors=[{"field": "body", "message": f"at most {limit // 1024} KB"}],
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; 413 as soon as it passes `limit` bytes (declared or received)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise too_large(limit)
    return bytes(raw)


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """pydantic's errors as the problem documents' `errors`: the field's path and the message."""
    return [
        {"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in errors
    ]


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _validation_problem(exc: RequestValidationError) -> Problem:
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return malformed_json(err.get("msg", "invalid JSON"))
    errors = field_errors(list(exc.errors()))
    fields = ", ".join(e["field"] for e in errors)
    return Problem(422, "Invalid request", f"invalid field(s): {fields}", errors=errors)


def _allowed_methods(request: Request) -> str:
    """RFC 9110 wants every method of the resource in a 405's Allow header; Starlette names only
    those of the first route on the path, and FastAPI makes a route of each method."""
    routes = request.app.router.routes
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSON:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSON:
        if _not_json(request) and any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors()):
            problem = Problem(
                415,
                "Unsupported media type",
                "send the body as application/json",
                errors=[{"field": "Content-Type", "message": "must be application/json"}],
            )
            return problem_response(problem, request)
        return problem_response(_validation_problem(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        problem = Problem(exc.status_code, title, str(exc.detail), headers=headers)
        return problem_response(problem, request)

    @app.exception_handler(asyncpg.exceptions.UntranslatableCharacterError)
    @app.exception_handler(asyncpg.exceptions.CharacterNotInRepertoireError)
    async def _unstorable_text(request: Request, exc: Exception) -> JSON:
        message = "text must not contain NUL (\\u0000) characters"
        problem = Problem(
            422, "Invalid request", message, errors=[{"field": "body", "message": message}]
        )
        return problem_response(problem, request)

    for error_type in UNAVAILABLE:
        app.add_exception_handler(error_type, _unavailable)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSON:
        log.exception("http.unhandled", path=request.url.path)
        return problem_response(
            Problem(500, "Internal error", "the request could not be completed"), request
        )


def _not_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return not (
        kind.startswith("application/") and (kind.endswith("/json") or kind.endswith("+json"))
    )


async def _unavailable(request: Request, exc: Exception) -> JSON:
    log.warning("http.database_unavailable", error=repr(exc))
    problem = Problem(
        503,
        "Service unavailable",
        "storage is unavailable; nothing was accepted",
        headers={"Retry-After": "2"},
    )
    return problem_response(problem, request)


class RequestContextMiddleware:
    """Pure ASGI: binds a request id for logs, echoes it, and records metrics."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], path, status["code"]).inc()
            metrics.HTTP_LATENCY.labels(self.service, path).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")[:128]
    return None


def install_platform_routes(app: FastAPI, runtime: Any) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSON:
        health = await runtime.health()
        code = 200 if health["status"] == "ok" else 503
        return JSON(health, status_code=code)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        await runtime.refresh_gauges()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> JSON:
        return JSON(runtime.asyncapi())


def service_router(prefix: str, tag: str) -> Any:
    """A router whose routes check their scope first and read JSON whatever the Content-Type."""
    from fastapi import APIRouter

    from shared.auth import ScopedRoute

    return APIRouter(prefix=prefix, tags=[tag], route_class=ScopedRoute, strict_content_type=False)


def with_etag(body: dict[str, Any], status: int = 200, location: str | None = None) -> JSON:
    """A versioned resource: its version is its ETag (for `If-Match` on the next write)."""
    headers = {"ETag": f'"{body["version"]}"'}
    if location:
        headers["Location"] = location
    return JSON(body, status_code=status, headers=headers)


def if_match(value: str | None) -> int | None:
    """The version an `If-Match` header names; None when absent or `*` (unconditional)."""
    if value is None or value.strip() == "*":
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise invalid("If-Match", "must be an ETag returned by this API") from None
