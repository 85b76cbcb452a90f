"""Export: one document with every service's section; the audit of who asked for what; the
consent history's source and legal basis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import orjson

from services.contacts.store.privacy_requests import expire_exports
from shared.cloudevents import headers_for
from shared.events.campaigns import UnsubscribeRequested
from tests.services.privacy.conftest import (
    SERVICES,
    Person,
    create_customer,
    in_every_channel,
    wait_completed,
)
from tests.support.events import eventually, produce


async def test_export_holds_every_service_section_about_the_person(stack, http, auth):
    person = Person()
    await in_every_channel(http, stack, auth, person)
    response = await http.post(f"{stack.contacts}/api/v1/customers/{person.id}/export",
                               headers=auth)  # fmt: skip
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    status = await wait_completed(http, stack, auth, request_id)
    assert status["kind"] == "export"

    download = await http.get(
        f"{stack.contacts}/api/v1/privacy/requests/{request_id}/download", headers=auth
    )
    assert download.status_code == 200, download.text
    doc = download.json()
    assert doc["export"]["format"] == "ecrm.export.v1"
    assert doc["export"]["customer_id"] == person.id
    assert set(SERVICES) <= set(doc)
    assert doc["contacts"]["customer"]["email"] == person.email
    assert doc["contacts"]["consent_history"][0]["source"] == "api"
    assert person.anonymous_id in {i["value"] for i in doc["interactions"]["identities"]}
    assert doc["interactions"]["orders"][0]["loyalty_id"] == person.loyalty_id
    assert any(person.ticket_body in m["body"] for m in doc["support"]["messages"])
    assert doc["sales"]["deals"][0]["name"] == person.deal_name
    assert doc["sales"]["score_history"][0]["points"] == 7
    assert len(orjson.dumps(doc)) < 4_000_000


async def test_download_of_an_erasure_or_unknown_request_is_refused(stack, http, auth):
    person = Person()
    await create_customer(http, stack, auth, person)
    response = await http.post(f"{stack.contacts}/api/v1/customers/{person.id}/erase",
                               headers=auth)  # fmt: skip
    request_id = response.json()["request_id"]
    refused = await http.get(
        f"{stack.contacts}/api/v1/privacy/requests/{request_id}/download", headers=auth
    )
    assert refused.status_code == 409
    unknown = await http.get(
        f"{stack.contacts}/api/v1/privacy/requests/{uuid.uuid4()}/download", headers=auth
    )
    assert unknown.status_code == 404


async def test_audit_names_who_asked_for_each_request(stack, http, auth):
    survivor, merged = Person(), Person()
    await create_customer(http, stack, auth, survivor)
    await create_customer(http, stack, auth, merged)
    dpo = {"Authorization": f"Bearer {stack.infra.token('privacy:write')}"}
    base = f"{stack.contacts}/api/v1/customers/{survivor.id}"
    merge = await http.post(f"{base}/merge", json={"merged_id": merged.id}, headers=auth)
    assert merge.status_code == 200, merge.text
    unmerge = await http.post(f"{base}/unmerge", json={"merged_id": merged.id}, headers=auth)
    assert unmerge.status_code == 200, unmerge.text
    assert (await http.post(f"{base}/export", headers=dpo)).status_code == 202
    assert (await http.post(f"{base}/erase", headers=dpo)).status_code == 202

    response = await http.get(f"{stack.contacts}/api/v1/privacy/audit",
                              params={"customer_id": survivor.id}, headers=auth)  # fmt: skip
    assert response.status_code == 200, response.text
    actions = [(i["action"], i["requested_by"]) for i in response.json()["items"]]
    assert actions == [("erasure", "tests"), ("export", "tests"), ("unmerge", "tests"),
                       ("merge", "tests")]  # fmt: skip
    bad = await http.get(f"{stack.contacts}/api/v1/privacy/audit",
                         params={"customer_id": "nope"}, headers=auth)  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "customer_id"


async def test_consent_history_records_source_and_legal_basis(stack, http, auth):
    person = Person()
    await create_customer(http, stack, auth, person)
    body = {"channel": "email", "state": "unsubscribed", "source": "inbound_mail",
            "legal_basis": "consent"}  # fmt: skip
    response = await http.put(f"{stack.contacts}/api/v1/customers/{person.id}/consent",
                              json=body, headers=auth)  # fmt: skip
    assert response.status_code == 200, response.text
    history = await http.get(f"{stack.contacts}/api/v1/customers/{person.id}/consent/history",
                             headers=auth)  # fmt: skip
    items = history.json()["items"]
    assert [(i["state"], i["source"], i["legal_basis"]) for i in items] == [
        ("unsubscribed", "inbound_mail", "consent"),
        ("subscribed", "api", None),
    ]


async def test_an_unsubscribe_link_is_recorded_with_its_source(stack, http, auth):
    person = Person()
    await create_customer(http, stack, auth, person)
    event = UnsubscribeRequested(customer_id=person.id, email=person.email, at=datetime.now(UTC))
    headers = headers_for(uuid.uuid4(), event.ce_type(), "/ecrm/campaigns", datetime.now(UTC),
                          event.key())  # fmt: skip
    await produce(stack.infra.bootstrap, event.topic(), event.model_dump(mode="json"),
                  event.key(), headers)  # fmt: skip

    async def recorded() -> list | None:
        history = await http.get(
            f"{stack.contacts}/api/v1/customers/{person.id}/consent/history", headers=auth
        )
        items = history.json()["items"]
        return items if items[0]["state"] == "unsubscribed" else None

    items = await eventually(recorded, timeout=30)
    assert items[0]["source"] == "unsubscribe_link"


async def test_an_export_document_expires_after_its_retention_period(stack, http, auth):
    person = Person()
    await create_customer(http, stack, auth, person)
    response = await http.post(
        f"{stack.contacts}/api/v1/customers/{person.id}/export", headers=auth
    )
    request_id = response.json()["request_id"]
    await wait_completed(http, stack, auth, request_id)
    conn = await asyncpg.connect(stack.infra.dsn("contacts"))
    try:
        await conn.execute(
            "UPDATE privacy_requests SET completed_at = now() - interval '31 days' WHERE id = $1",
            uuid.UUID(request_id),
        )
        assert await expire_exports(conn, 30) >= 1
        sections = await conn.fetchval(
            "SELECT count(section) FROM privacy_answers WHERE request_id = $1",
            uuid.UUID(request_id),
        )
    finally:
        await conn.close()
    assert sections == 0
    gone = await http.get(
        f"{stack.contacts}/api/v1/privacy/requests/{request_id}/download", headers=auth
    )
    assert gone.status_code == 410
