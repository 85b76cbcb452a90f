"""The portal behind the gateway: aggregated health, the API docs index, OpenAPI and AsyncAPI.

It owns no data: `/healthz` asks every service's own `/healthz`; `/openapi/<name>.json` and
`/asyncapi` fetch each service's documents (the AsyncAPI ones merged into one).
"""

from __future__ import annotations

import asyncio
import html
import os
from functools import cache
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from ecrm.embedded import PORTAL_SERVICES_ENV
from ecrm.topology import available_services, service_url
from shared.errors import Problem
from shared.settings import Settings, get_settings

PROBE_TIMEOUT_S = 2.0
PROBLEM_JSON = "application/problem+json"


def portal_services() -> list[str]:
    """The services this stack runs: from the stack's environment, else all in this build."""
    raw = os.environ.get(PORTAL_SERVICES_ENV)
    if raw is None:
        return available_services()
    return [name for name in raw.split(",") if name]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(status, title, detail, **extra).body()
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, trust_env=False)


async def probe(client: httpx.AsyncClient, url: str) -> str:
    try:
        response = await client.get(f"{url}/healthz")
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok" if response.status_code == 200 else f"unhealthy (HTTP {response.status_code})"


async def fetch_json(client: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    """The JSON document at url, or None when it is missing or the service is down."""
    try:
        response = await client.get(url)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        doc = response.json()
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def merge_asyncapi(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One AsyncAPI document: the union of the services' servers, channels, operations and
    components (the first service to define a name wins)."""
    merged: dict[str, Any] = {
        "asyncapi": docs[0].get("asyncapi", "3.0.0") if docs else "3.0.0",
        "info": {
            "title": "eCRM events",
            "version": "1.0.0",
            "description": "Every event of the platform, one section per owning service.",
        },
        "defaultContentType": "application/json",
    }
    for section in ("servers", "channels", "operations"):
        union = _union(doc.get(section) for doc in docs)
        if union:
            merged[section] = union
    components: dict[str, Any] = {}
    for doc in docs:
        for kind, entries in (doc.get("components") or {}).items():
            if isinstance(entries, dict):
                components[kind] = _union([components.get(kind), entries])
    if components:
        merged["components"] = components
    return merged


def _union(parts: Any) -> dict[str, Any]:
    union: dict[str, Any] = {}
    for part in parts:
        for key, value in (part or {}).items():
            union.setdefault(key, value)
    return union


def docs_page(services: list[str]) -> str:
    items = "\n".join(
        f'    <li><a href="/openapi/{html.escape(s)}.json">{html.escape(s)}</a>'
        f" — OpenAPI document</li>"
        for s in services
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>eCRM API</title></head>
<body>
  <h1>eCRM API</h1>
  <h2>HTTP (OpenAPI)</h2>
  <ul>
{items}
  </ul>
  <h2>Events (AsyncAPI)</h2>
  <ul>
    <li><a href="/asyncapi">All services' events</a> — one AsyncAPI document</li>
  </ul>
  <p><a href="/healthz">Health</a> of the gateway and every service.</p>
</body>
</html>
"""


def create_app(settings: Settings | None = None, services: list[str] | None = None) -> FastAPI:
    """The portal for `services` (default: from the environment, resolved on first use)."""
    app = FastAPI(title="eCRM portal", docs_url=None, redoc_url=None, openapi_url=None)

    @cache
    def targets() -> dict[str, str]:
        names = portal_services() if services is None else services
        return {name: service_url(settings or get_settings(), name) for name in names}

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        urls = targets()
        async with _client() as client:
            states = await asyncio.gather(*(probe(client, url) for url in urls.values()))
        report = dict(zip(urls, states, strict=True))
        down = [name for name, state in report.items() if state != "ok"]
        if down:
            detail = f"not ready: {', '.join(down)}"
            return problem(503, "Service unavailable", detail, services=report)
        return JSONResponse({"status": "ok", "services": report})

    @app.get("/docs", response_class=HTMLResponse)
    async def docs() -> str:
        return docs_page(list(targets()))

    @app.get("/openapi/{document}")
    async def openapi(document: str) -> JSONResponse:
        name, urls = document.removesuffix(".json"), targets()
        if name not in urls or not document.endswith(".json"):
            return problem(404, "Not found", f"no service named {name!r} in this stack")
        async with _client() as client:
            doc = await fetch_json(client, f"{urls[name]}/openapi.json")
        if doc is None:
            return problem(503, "Service unavailable", f"the {name} service is not available")
        return JSONResponse(doc)

    @app.get("/asyncapi")
    @app.get("/asyncapi.json")
    async def asyncapi() -> JSONResponse:
        async with _client() as client:
            found = await asyncio.gather(
                *(fetch_json(client, f"{url}/asyncapi.json") for url in targets().values())
            )
        return JSONResponse(merge_asyncapi([doc for doc in found if doc is not None]))

    return app


app = create_app()
