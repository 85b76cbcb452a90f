"""The portal: aggregated health, the docs index, per-service OpenAPI and the merged AsyncAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ecrm.portal import create_app, merge_asyncapi
from ecrm.topology import service_port
from shared.settings import Settings

SERVICES = ["contacts", "interactions", "support"]


def asyncapi_doc(owner: str, channel: str) -> dict[str, Any]:
    message = f"{owner.title()}Event"
    return {
        "asyncapi": "3.0.0",
        "info": {"title": owner, "version": "0.1.0"},
        "servers": {"development": {"host": "127.0.0.1:9092", "protocol": "kafka"}},
        "channels": {channel: {"address": channel, "messages": {message: {}}}},
        "operations": {f"publish_{owner}": {"action": "send", "channel": {}}},
        "components": {"messages": {message: {"name": message}}, "schemas": {message: {}}},
    }


def service_app(name: str, with_asyncapi: bool) -> FastAPI:
    app = FastAPI(title=f"{name} service")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if with_asyncapi:

        @app.get("/asyncapi.json")
        async def asyncapi() -> dict[str, Any]:
            return asyncapi_doc(name, f"ecrm.{name}.thing")

    return app


@pytest.fixture(scope="module")
async def portal(
    make_settings: Callable[..., Settings], upstreams: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, Any]]:
    settings = make_settings()
    await upstreams.start(service_app("contacts", True), service_port(settings, "contacts"))
    await upstreams.start(
        service_app("interactions", False), service_port(settings, "interactions")
    )
    transport = httpx.ASGITransport(app=create_app(settings, SERVICES))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        yield client, settings, upstreams


def test_asyncapi_documents_merge_into_one() -> None:
    merged = merge_asyncapi([asyncapi_doc("contacts", "a"), asyncapi_doc("support", "b")])
    assert merged["asyncapi"] == "3.0.0"
    assert merged["info"]["title"] == "eCRM events"
    assert set(merged["channels"]) == {"a", "b"}
    assert set(merged["operations"]) == {"publish_contacts", "publish_support"}
    assert set(merged["components"]["messages"]) == {"ContactsEvent", "SupportEvent"}
    assert set(merged["servers"]) == {"development"}
    assert merge_asyncapi([])["asyncapi"] == "3.0.0"


async def test_health_names_the_services_that_are_down(portal: Any) -> None:
    client, settings, upstreams = portal
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "not ready: support"
    assert body["services"]["contacts"] == "ok" and body["services"]["interactions"] == "ok"
    assert body["services"]["support"].startswith("unreachable")

    port = service_port(settings, "support")
    await upstreams.start(service_app("support", False), port)
    try:
        healthy = await client.get("/healthz")
    finally:
        await upstreams.stop(port)
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok", "services": dict.fromkeys(SERVICES, "ok")}


async def test_openapi_documents_come_from_each_service(portal: Any) -> None:
    client = portal[0]
    document = await client.get("/openapi/contacts.json")
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "contacts service"
    assert "/healthz" in document.json()["paths"]
    unknown = await client.get("/openapi/billing.json")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    down = await client.get("/openapi/support.json")
    assert down.status_code == 503 and "support" in down.json()["detail"]


async def test_asyncapi_merges_the_services_that_publish_one(portal: Any) -> None:
    document = (await portal[0].get("/asyncapi")).json()
    assert list(document["channels"]) == ["ecrm.contacts.thing"]
    assert document["components"]["messages"] == {"ContactsEvent": {"name": "ContactsEvent"}}


async def test_docs_link_every_document(portal: Any) -> None:
    page = await portal[0].get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in SERVICES:
        assert f'href="/openapi/{name}.json"' in page.text
    assert 'href="/asyncapi"' in page.text
