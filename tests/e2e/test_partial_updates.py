"""Every PATCH route, field by field, through the gateway: `null` either clears a field the
OpenAPI document says is nullable (200, the field now null) or is refused with a 422 naming a
field the document says is not. Never a 5xx, never silently ignored. The routes and fields come
from the documents, so a new PATCH route or field is covered without touching this test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ecrm.topology import available_services

Create = Callable[[httpx.AsyncClient], Awaitable[str]]


def _unique() -> str:
    return uuid.uuid4().hex[:10]


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 201, (path, response.text)
    return response.json()["id"]


async def _customer(client: httpx.AsyncClient) -> str:
    return await _created(client, "/api/v1/customers", {"email": f"n.{_unique()}@example.com"})


async def _deal(client: httpx.AsyncClient) -> str:
    body = {"name": "Renewal", "customer_id": str(uuid.uuid4()), "amount": "10", "currency": "EUR"}
    return await _created(client, "/api/v1/deals", body)


async def _activity(client: httpx.AsyncClient) -> str:
    deal = await _deal(client)
    body = {"kind": "task", "subject": "Call back", "due_at": "2030-01-01T09:00:00Z"}
    return f"{deal}/{await _created(client, f'/api/v1/deals/{deal}/activities', body)}"


MAIL = {"subject": "Hello", "html": "<p>Hi</p>"}
CREATE: dict[str, Create] = {
    "/api/v1/customers/{customer_id}": _customer,
    "/api/v1/tickets/{ticket_id}": lambda c: _created(
        c,
        "/api/v1/tickets",
        {"subject": "Help", "body": "It broke", "requester_email": f"r.{_unique()}@example.com"},
    ),
    "/api/v1/kb/articles/{article_id}": lambda c: _created(
        c, "/api/v1/kb/articles", {"title": "Returns", "body": "How to return an order"}
    ),
    "/api/v1/segments/{segment_id}": lambda c: _created(
        c, "/api/v1/segments", {"name": f"s {_unique()}", "rule": {"tag": "vip"}}
    ),
    "/api/v1/journeys/{journey_id}": lambda c: _created(
        c, "/api/v1/journeys", {"name": "Welcome", "trigger": "customer_created", **MAIL}
    ),
    "/api/v1/accounts/{account_id}": lambda c: _created(
        c, "/api/v1/accounts", {"name": f"Acme {_unique()}"}
    ),
    "/api/v1/deals/{deal_id}": _deal,
    "/api/v1/deals/{deal_id}/activities/{activity_id}": _activity,
}


def _schema(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]] if "$ref" in ref else ref


def _nullable(prop: dict[str, Any]) -> bool:
    return not prop or any(o.get("type") == "null" for o in prop.get("anyOf", [prop]))


async def _patch_routes(client: httpx.AsyncClient) -> dict[str, dict[str, bool]]:
    """Each PATCH route's body fields, and whether its document lets them be null."""
    routes = {}
    for service in available_services():
        doc = (await client.get(f"/openapi/{service}.json")).json()
        for path, operations in doc["paths"].items():
            if "patch" in operations:
                content = operations["patch"]["requestBody"]["content"]["application/json"]
                props = _schema(doc, content["schema"])["properties"]
                routes[path] = {name: _nullable(prop) for name, prop in props.items()}
    return routes


async def test_null_clears_a_nullable_field_and_is_refused_for_any_other(gateway, admin):
    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=15) as client:
        routes = await _patch_routes(client)
        assert set(routes) == set(CREATE), "a PATCH route without a way to create its resource"
        outcomes = []
        for template, fields in routes.items():
            ids = (await CREATE[template](client)).split("/")
            path = re.sub(r"{\w+}", "{}", template).format(*ids)
            for field, nullable in fields.items():
                response = await client.patch(path, json={field: None})
                outcomes.append((template, field, nullable, response.status_code))
                if nullable:
                    assert response.status_code == 200, (template, field, response.text)
                    assert response.json()[field] is None, (template, field, response.json())
                else:
                    assert response.status_code == 422, (template, field, response.text)
                    problem = response.json()
                    assert response.headers["content-type"].startswith("application/problem+json")
                    assert [e["field"] for e in problem["errors"]] == [field], problem
    refused = {(t, f) for t, f, nullable, _ in outcomes if not nullable}
    assert ("/api/v1/kb/articles/{article_id}", "tags") in refused
    assert ("/api/v1/customers/{customer_id}", "stage") in refused
    assert ("/api/v1/customers/{customer_id}", "phone") not in refused


async def test_an_undeclared_method_is_405_with_the_allowed_methods(gateway, admin):
    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=15) as client:
        response = await client.request("TRACE", "/api/v1/kb/articles")
        assert response.status_code == 405, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
