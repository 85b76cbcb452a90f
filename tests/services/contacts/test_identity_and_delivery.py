"""Find-or-create races, idempotent consumption, dead letters and the outbox across a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import UTC, datetime

import asyncpg

from shared.cloudevents import headers_for
from shared.events.contacts import IdentityRequest
from tests.support.events import eventually, produce, read_topic, wait_for_events

REQUESTS = IdentityRequest.topic()


def request_headers(event_id: uuid.UUID | None = None) -> list:
    return headers_for(
        event_id or uuid.uuid4(), IdentityRequest.ce_type(), "/tests", datetime.now(UTC), None
    )


async def count_customers(infra, email: str) -> int:
    conn = await asyncpg.connect(infra.dsn("contacts"))
    try:
        return await conn.fetchval("SELECT count(*) FROM customers WHERE email = $1", email)
    finally:
        await conn.close()


async def test_concurrent_find_or_create_by_one_email_yields_one_customer(
    infra, contacts, http, auth, email
):
    calls = [
        http.post(
            f"{contacts}/api/v1/customers/identify",
            json={"email": email, "traits": {"firstName": "Ada"}},
            headers=auth,
        )
        for _ in range(12)
    ]
    for i in range(12):  # and the same person through the event channel, at the same time
        req = IdentityRequest(
            request_id=str(uuid.uuid4()),
            requested_by="tests",
            email=email,
            identities=[{"kind": "anonymous_id", "value": f"anon-{i}-{email}"}],
        )
        calls.append(
            produce(
                infra.bootstrap, REQUESTS, req.model_dump(mode="json"), req.key(), request_headers()
            )
        )
    results = await asyncio.gather(*calls)
    answers = [r.json() for r in results if hasattr(r, "json")]
    assert len({a["id"] for a in answers}) == 1
    assert sum(a["created"] for a in answers) <= 1

    async def all_identities_linked() -> bool:
        got = (
            await http.get(f"{contacts}/api/v1/customers/{answers[0]['id']}", headers=auth)
        ).json()
        return len(got["identities"]) == 12

    await eventually(all_identities_linked, timeout=30)
    assert await count_customers(infra, email) == 1


async def test_redelivered_identity_request_is_applied_once(infra, contacts, email):
    request_id = str(uuid.uuid4())
    req = IdentityRequest(request_id=request_id, requested_by="tests", email=email)
    event_id = uuid.uuid4()
    for _ in range(3):  # the same event, delivered three times
        await produce(
            infra.bootstrap,
            REQUESTS,
            req.model_dump(mode="json"),
            req.key(),
            request_headers(event_id),
        )
    linked = await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "IdentityLinked" and e.data.get("request_id") == request_id,
    )
    await asyncio.sleep(2)  # give a wrongly re-applied copy time to show up
    again = [
        e
        for _, e in await read_topic(infra.bootstrap, "ecrm.contacts.customer")
        if e and e.name == "IdentityLinked" and e.data.get("request_id") == request_id
    ]
    assert len(linked) == len(again) == 1
    assert await count_customers(infra, email) == 1


async def test_poison_events_are_dead_lettered_and_later_events_flow(infra, contacts, email):
    key = email  # one key: one partition, so the good event queues behind the poison ones
    await produce(infra.bootstrap, REQUESTS, b"{this is not json", key, request_headers())
    empty = IdentityRequest(
        request_id=str(uuid.uuid4()), requested_by="tests"
    )  # no email, no identity
    await produce(infra.bootstrap, REQUESTS, empty.model_dump(mode="json"), key, request_headers())
    good = IdentityRequest(request_id=str(uuid.uuid4()), requested_by="tests", email=email)
    await produce(infra.bootstrap, REQUESTS, good.model_dump(mode="json"), key, request_headers())

    await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "IdentityLinked" and e.data.get("request_id") == good.request_id,
    )

    async def parked() -> dict:
        records = [
            r
            for r, _ in await read_topic(infra.bootstrap, f"{REQUESTS}.dlq")
            if r.key.decode() == key
        ]
        # parking is at least once too: a batch rewound after a database hiccup parks again
        by_offset = {dict(r.headers)["x-original-offset"]: r for r in records}
        return by_offset if len(by_offset) >= 2 else {}

    records = list((await eventually(parked, timeout=30)).values())
    errors = sorted(dict(r.headers)["x-error-type"].decode() for r in records)
    assert errors == ["MalformedEvent", "ValueError"]
    assert all(dict(r.headers)["x-original-topic"].decode() == REQUESTS for r in records)


async def test_a_crash_between_commit_and_publish_loses_nothing(infra, contacts, http, auth, email):
    broker_pid = infra.pid("broker")
    os.kill(broker_pid, signal.SIGSTOP)  # the relay cannot publish...
    try:
        created = await http.post(
            f"{contacts}/api/v1/customers", json={"email": email}, headers=auth
        )
        assert (
            created.status_code == 201
        )  # ...but the write is accepted: the outbox holds the event
        conn = await asyncpg.connect(infra.dsn("contacts"))
        try:
            pending = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE key = $1 AND published_at IS NULL",
                created.json()["id"],
            )
        finally:
            await conn.close()
        assert pending >= 1
        os.kill(infra.pid("contacts"), signal.SIGKILL)  # the service dies before publishing
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "CustomerCreated" and e.data.get("email") == email,
        timeout=60,
    )

    async def back_up() -> bool:
        try:
            return (await http.get(f"{contacts}/healthz")).status_code == 200
        except Exception:
            return False

    await eventually(back_up, timeout=60)


async def test_lead_qualified_moves_the_stage_forward_only(infra, contacts, http, auth, email):
    from shared.events.sales import LeadQualified

    lead = (
        await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    ).json()
    customer = (
        await http.post(
            f"{contacts}/api/v1/customers",
            json={"email": "c." + email, "stage": "customer"},
            headers=auth,
        )
    ).json()
    for c in (lead, customer):
        event = LeadQualified(customer_id=c["id"], score=120, threshold=100, at=datetime.now(UTC))
        headers = headers_for(
            uuid.uuid4(), LeadQualified.ce_type(), "/ecrm/sales", datetime.now(UTC), c["id"]
        )
        await produce(
            infra.bootstrap, LeadQualified.topic(), event.model_dump(mode="json"), c["id"], headers
        )

    async def stage_of(cid: str) -> str:
        return (await http.get(f"{contacts}/api/v1/customers/{cid}", headers=auth)).json()["stage"]

    await eventually(lambda: _equals(stage_of(lead["id"]), "sales_qualified"), timeout=30)
    assert await stage_of(customer["id"]) == "customer"


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def test_unsubscribe_link_withdraws_email_consent_with_its_source(
    infra, contacts, http, auth, email
):
    from shared.events.campaigns import UnsubscribeRequested

    body = {"email": email, "consent": {"email": "subscribed"}}
    customer = (await http.post(f"{contacts}/api/v1/customers", json=body, headers=auth)).json()
    event = UnsubscribeRequested(
        customer_id=customer["id"], email=email, message_id=str(uuid.uuid4()), at=datetime.now(UTC)
    )
    headers = headers_for(
        uuid.uuid4(),
        UnsubscribeRequested.ce_type(),
        "/ecrm/campaigns",
        datetime.now(UTC),
        customer["id"],
    )
    await produce(
        infra.bootstrap,
        UnsubscribeRequested.topic(),
        event.model_dump(mode="json"),
        customer["id"],
        headers,
    )

    async def history() -> list:
        url = f"{contacts}/api/v1/customers/{customer['id']}/consent/history"
        items = (await http.get(url, headers=auth)).json()["items"]
        return items if items and items[0]["state"] == "unsubscribed" else []

    latest = (await eventually(history, timeout=30))[0]
    assert latest["source"] == "unsubscribe_link" and latest["channel"] == "email"
    await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: (
            e.name == "ConsentChanged"
            and e.key == customer["id"]
            and e.data["source"] == "unsubscribe_link"
        ),
    )


async def test_ids_seen_before_the_address_fold_into_the_address_owner(contacts, http, auth, email):
    """An identify with email and a track without it, sent in one batch, used to make two people."""
    url = f"{contacts}/api/v1/customers/identify"
    known = (await http.post(url, json={"email": email}, headers=auth)).json()
    ids = [
        {"kind": "anonymous_id", "value": f"a-{email}"},
        {"kind": "user_id", "value": f"u-{email}"},
    ]
    early = (await http.post(url, json={"identities": ids}, headers=auth)).json()
    assert early["id"] != known["id"] and early["email"] is None
    resolved = (await http.post(url, json={"email": email, "identities": ids}, headers=auth)).json()
    assert resolved["id"] == known["id"]
    assert {"kind": "user_id", "value": f"u-{email}"} in resolved["identities"]
    folded = (await http.get(f"{contacts}/api/v1/customers/{early['id']}", headers=auth)).json()
    assert folded["id"] == known["id"]  # the early id now resolves to the address's customer


async def test_an_address_taken_over_in_a_merge_is_answered_with_the_survivor(
    infra, contacts, http, auth, email
):
    survivor = (
        await http.post(f"{contacts}/api/v1/customers", json={"email": "s." + email}, headers=auth)
    ).json()
    merged = (
        await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    ).json()
    await http.post(
        f"{contacts}/api/v1/customers/{survivor['id']}/merge",
        json={"merged_id": merged["id"]},
        headers=auth,
    )
    request = IdentityRequest(request_id=str(uuid.uuid4()), requested_by="tests", email=email)
    await produce(
        infra.bootstrap, REQUESTS, request.model_dump(mode="json"), request.key(), request_headers()
    )
    found = await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "IdentityLinked" and e.data.get("request_id") == request.request_id,
    )
    assert found[0][1].data["customer_id"] == survivor["id"]
    assert found[0][1].data["identity"] == {"kind": "email", "value": email}
