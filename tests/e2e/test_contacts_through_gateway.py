"""The contacts path end to end: client -> Caddy -> contacts -> PostgreSQL -> outbox -> broker."""

from __future__ import annotations

import uuid

import httpx

from shared.auth import issue_token
from tests.support.events import wait_for_events


async def test_create_through_the_gateway_publishes_a_cloudevent_keyed_by_the_customer(
    stack, gateway, admin
):
    email = f"e2e.{uuid.uuid4().hex[:10]}@example.com"
    async with httpx.AsyncClient(base_url=gateway, timeout=15) as client:
        response = await client.post(
            "/api/v1/customers",
            json={
                "email": email,
                "first_name": "Ada",
                "tags": ["vip"],
                "consent": {"email": "subscribed"},
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"]
        customer = response.json()
        fetched = await client.get(f"/api/v1/customers/{customer['id']}", headers=admin)
        assert fetched.json()["email"] == email
    bootstrap = f"127.0.0.1:{stack.settings.embedded_kafka_port}"
    found = await wait_for_events(
        bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "CustomerCreated" and e.data.get("email") == email,
    )
    record, event = found[0]
    assert record.key.decode() == customer["id"] == event.subject
    assert dict(record.headers)["ce_type"] == b"ecrm.contacts.CustomerCreated.v1"


async def test_gateway_answers_problems_for_auth_and_unknown_routes(stack, gateway):
    key = (stack.home / "signing.key").read_text().strip()
    no_scope = issue_token(key, ["support:read"], "e2e", 1)
    async with httpx.AsyncClient(base_url=gateway, timeout=15) as client:
        assert (await client.get("/api/v1/customers")).status_code == 401
        forbidden = await client.get(
            "/api/v1/customers", headers={"Authorization": f"Bearer {no_scope}"}
        )
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"].startswith("application/problem+json")
        unknown = await client.get("/no/such/route")
        assert unknown.status_code == 404
        assert unknown.json()["status"] == 404


async def test_health_docs_and_contracts_are_published(stack, gateway):
    async with httpx.AsyncClient(base_url=gateway, timeout=15) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json()["services"]["contacts"] == "ok"
        openapi = (await client.get("/openapi/contacts.json")).json()
        assert "/api/v1/customers" in openapi["paths"]
        asyncapi = (await client.get("/asyncapi")).json()
        addresses = {c.get("address") for c in asyncapi["channels"].values()}
        assert "ecrm.contacts.customer" in addresses
        assert "contacts" in (await client.get("/docs")).text
    written = {
        p.name: oct(p.stat().st_mode & 0o777)
        for p in stack.home.iterdir()
        if p.suffix in (".token", ".key")
    }
    assert written == {"admin.token": "0o600", "write.key": "0o600", "signing.key": "0o600"}
