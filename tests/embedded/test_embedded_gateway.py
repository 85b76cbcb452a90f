"""The Caddy gateway with deploy/Caddyfile: routes, problem+json errors, request ids, limits."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.gateway_log import proxy_errors
from ecrm.embedded import gateway
from ecrm.embedded.supervisor import Supervisor
from ecrm.topology import ALL_SERVICES, PORTAL, service_port
from shared.settings import Settings
from tests.support.events import eventually

ROUTES = [
    ("/healthz", PORTAL),
    ("/docs", PORTAL),
    ("/asyncapi", PORTAL),
    ("/openapi/contacts.json", PORTAL),
    ("/api/v1/customers", "contacts"),
    ("/api/v1/customers/c1", "contacts"),
    ("/api/v1/customers/c1/merge", "contacts"),
    ("/api/v1/customers/c1/consent", "contacts"),
    ("/api/v1/privacy/requests/r1/download", "contacts"),
    ("/api/v1/customers/c1/timeline", "interactions"),
    ("/api/v1/orders", "interactions"),
    ("/v1/track", "interactions"),
    ("/v1/batch", "interactions"),
    ("/api/v1/tickets/t1/messages", "support"),
    ("/api/v1/kb/articles", "support"),
    ("/api/v1/csat", "support"),
    ("/api/v1/segments", "campaigns"),
    ("/api/v1/campaigns/k1", "campaigns"),
    ("/api/v1/journeys", "campaigns"),
    ("/t/o/token.gif", "campaigns"),
    ("/u/token", "campaigns"),
    ("/api/v1/customers/c1/score", "sales"),
    ("/api/v1/accounts", "sales"),
    ("/api/v1/deals/d1", "sales"),
    ("/api/v1/pipelines/p1/board", "sales"),
    ("/api/v1/scoring/rules", "sales"),
    ("/api/v1/analytics/funnel", "analytics"),
    ("/api/v1/ops/lag", "analytics"),
    ("/ops", "analytics"),
]


def echo_app(name: str) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> JSONResponse:
        body = await request.body()
        request_id = request.headers.get("x-request-id", "")
        content = {"upstream": name, "path": request.url.path, "request_id": request_id}
        content["body_bytes"] = len(body)
        return JSONResponse(content, headers={"X-Request-Id": request_id})

    return app


@pytest.fixture(scope="module")
async def stack(
    make_settings: Callable[..., Settings], upstreams: Any
) -> AsyncIterator[tuple[Settings, Any]]:
    settings = make_settings()
    for name in (PORTAL, *ALL_SERVICES):
        await upstreams.start(echo_app(name), service_port(settings, name))
    sup = Supervisor(settings.home / "run", settings.home / "logs")
    await sup.start(gateway.gateway_spec(settings))
    try:
        yield settings, upstreams
    finally:
        await sup.stop()


@pytest.fixture
async def client(stack: tuple[Settings, Any]) -> AsyncIterator[httpx.AsyncClient]:
    base = gateway.gateway_url(stack[0])
    async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as http:
        yield http


def test_go_threads_default_to_half_the_cores_unless_set() -> None:
    assert gateway.go_threads({"GOMAXPROCS": "3"}) == "3"
    assert gateway.go_threads({}) == str(max(1, (os.cpu_count() or 2) // 2))


def test_the_running_gateway_gets_its_go_threads(stack: tuple[Settings, Any]) -> None:
    pid = int((stack[0].home / "run" / "gateway.pid").read_text())
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"GOMAXPROCS={gateway.go_threads()}".encode() in environ


def test_the_caddyfile_validates(make_settings: Callable[..., Settings]) -> None:
    result = gateway.validate(make_settings())
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


@pytest.mark.parametrize(("path", "owner"), ROUTES)
async def test_each_path_reaches_its_owner(
    client: httpx.AsyncClient, path: str, owner: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json()["upstream"] == owner
    assert response.json()["path"] == path


@pytest.mark.parametrize("path", ["/", "/api/v2/customers", "/api/v1/unknown", "/customers"])
async def test_unmatched_paths_are_a_404_problem(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "no route matches this path",
    }


async def test_a_request_id_is_passed_through_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/api/v1/customers", headers={"X-Request-Id": "req-42"})
    assert given.json()["request_id"] == "req-42"
    assert given.headers.get_list("x-request-id") == ["req-42"]
    made = await client.get("/api/v1/customers")
    generated = made.json()["request_id"]
    assert len(generated) == 36 and generated.count("-") == 4
    assert made.headers.get_list("x-request-id") == [generated]
    missing = await client.get("/nowhere")
    assert len(missing.headers["x-request-id"]) == 36


async def test_request_bodies_are_limited(client: httpx.AsyncClient) -> None:
    small = await client.post("/api/v1/customers", content=b"x" * 1_000_000)
    assert small.json()["body_bytes"] == 1_000_000
    large = await client.post("/api/v1/customers", content=b"x" * 6_000_000)
    assert large.status_code == 413
    assert large.headers["content-type"] == "application/problem+json"
    assert large.json()["status"] == 413


async def test_a_stopped_upstream_answers_503_problem_at_once(
    stack: tuple[Settings, Any], client: httpx.AsyncClient
) -> None:
    settings, upstreams = stack
    port = service_port(settings, "sales")
    await upstreams.stop(port)
    try:
        started = time.monotonic()
        response = await client.get("/api/v1/deals", headers={"X-Request-Id": "req-503"})
        assert time.monotonic() - started < 2.5
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"] == "req-503"
        body = response.json()
        assert body["status"] == 503 and body["title"] == "Service unavailable"
        assert "sales" in body["detail"]
        assert (await client.get("/api/v1/customers")).status_code == 200
        # the gateway's log says why, and the bench counts it (`gateway_errors`)
        log = gateway.log_path(settings)
        refused = "dial tcp <address>: connect: connection refused"
        await eventually(lambda: proxy_errors(log).get(refused, 0) >= 1, timeout=5)
    finally:
        await upstreams.start(echo_app("sales"), port)
    assert (await client.get("/api/v1/deals")).json()["upstream"] == "sales"
