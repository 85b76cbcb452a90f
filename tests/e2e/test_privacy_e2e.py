"""The privacy requests through the gateway on the whole embedded stack: erasure and export fan
out to every service that answers them, and the audit names who asked."""

from __future__ import annotations

import uuid

import httpx

from tests.support.events import eventually

ANSWERING = ("contacts", "interactions", "support", "sales", "campaigns", "analytics")


async def completed(client: httpx.AsyncClient, request_id: str, admin: dict) -> dict:
    async def done() -> dict | None:
        response = await client.get(f"/api/v1/privacy/requests/{request_id}", headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        return body if body["status"] == "completed" else None

    return await eventually(done, timeout=60)


async def test_export_then_erasure_through_the_gateway(gateway, admin):
    email = f"e2e.privacy.{uuid.uuid4().hex[:10]}@example.com"
    async with httpx.AsyncClient(base_url=gateway, timeout=15) as client:
        created = await client.post(
            "/api/v1/customers", json={"email": email, "first_name": "Ada"}, headers=admin
        )
        assert created.status_code == 201, created.text
        customer = created.json()["id"]
        ticket = {"subject": "Lost parcel", "requester_email": email, "body": "Where is it?"}
        opened = await client.post("/api/v1/tickets", json=ticket, headers=admin)
        assert opened.status_code == 201, opened.text

        exported = await client.post(f"/api/v1/customers/{customer}/export", headers=admin)
        assert exported.status_code == 202, exported.text
        status = await completed(client, exported.json()["request_id"], admin)
        assert all(status["services"][s] == "completed" for s in ANSWERING)
        download = await client.get(
            f"/api/v1/privacy/requests/{status['request_id']}/download", headers=admin
        )
        doc = download.json()
        assert set(ANSWERING) <= set(doc)
        assert doc["contacts"]["customer"]["email"] == email
        assert {"audience", "segment_memberships", "events", "messages"} <= set(doc["campaigns"])
        assert doc["analytics"] == {"campaign_messages": []}

        erased = await client.post(f"/api/v1/customers/{customer}/erase", headers=admin)
        assert erased.status_code == 202, erased.text
        status = await completed(client, erased.json()["request_id"], admin)
        assert status["kind"] == "erasure"
        assert (await client.get(f"/api/v1/customers/{customer}", headers=admin)).status_code == 404

        audit = await client.get(
            "/api/v1/privacy/audit", params={"customer_id": customer}, headers=admin
        )
        assert [i["action"] for i in audit.json()["items"]] == ["erasure", "export"]
