"""Erasure and export reach campaigns and analytics: a person who got a campaign mail (and opened
it) is exported by both, then erased from both; their late events never come back, and their
address is never mailed again."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import asyncpg

from shared.cloudevents import headers_for
from shared.events.base import Event
from shared.events.campaigns import MessageOpened
from shared.events.contacts import CustomerCreated
from shared.privacy import email_hash
from tests.services.privacy.conftest import Person, fetchval, leaks, tag, wait_completed
from tests.support.events import eventually, produce


async def add_customer(http, stack, auth, email: str, label: str, **extra) -> str:  # type: ignore[no-untyped-def]
    body = {"email": email, "tags": [label], "consent": {"email": "subscribed"}, **extra}
    response = await http.post(f"{stack.contacts}/api/v1/customers", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def launch(http, stack, auth, label: str, count: int) -> dict:  # type: ignore[no-untyped-def]
    """A campaign to the customers tagged `label`, once campaigns sees `count` of them."""

    async def projected() -> bool:
        response = await http.post(f"{stack.campaigns}/api/v1/segments/preview",
                                   json={"rule": {"tag": label}}, headers=auth)  # fmt: skip
        return response.json()["count"] == count

    await eventually(projected, timeout=30)
    segment = await http.post(f"{stack.campaigns}/api/v1/segments",
                              json={"name": label, "rule": {"tag": label}}, headers=auth)  # fmt: skip
    assert segment.status_code == 201, segment.text
    body = {"name": label, "segment_id": segment.json()["id"], "subject": "Hi {{ first_name }}",
            "html": "<p>Dear {{ first_name }} {{ last_name }}, {{ phone }}</p>",
            "from": "Shop <news@shop.example.com>"}  # fmt: skip
    created = await http.post(f"{stack.campaigns}/api/v1/campaigns", json=body, headers=auth)
    assert created.status_code == 201, created.text
    sent = await http.post(f"{stack.campaigns}/api/v1/campaigns/{created.json()['id']}/send",
                           headers=auth)  # fmt: skip
    assert sent.status_code == 202, sent.text
    return sent.json()


async def rows(infra, service: str, sql: str, *args) -> list:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(infra.dsn(service))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def request(http, stack, auth, kind: str, customer_id: str) -> dict:  # type: ignore[no-untyped-def]
    response = await http.post(f"{stack.contacts}/api/v1/customers/{customer_id}/{kind}",
                               headers=auth)  # fmt: skip
    assert response.status_code == 202, response.text
    return await wait_completed(http, stack, auth, response.json()["request_id"])


async def mailed_and_opened(http, stack, sink, person: Person) -> str:  # type: ignore[no-untyped-def]
    """Wait for the person's mail in the sink, open it; the message id."""
    [mail] = await eventually(lambda: sink.to(person.email), timeout=30)
    assert mail["Subject"] == f"Hi {person.first_name}"
    pixel = re.search(r'<img src="([^"]+/t/o/[\w.-]+\.gif)"', mail.get_content())
    assert pixel is not None
    opened = await http.get(pixel.group(1), headers={"User-Agent": f"Mail of {person.last_name}"})
    assert opened.status_code == 200
    cid = uuid.UUID(person.id)

    async def recorded() -> str | None:
        found = await rows(stack.infra, "campaigns",
                           "SELECT m.id FROM messages m JOIN opens o ON o.message_id = m.id"
                           " WHERE m.customer_id = $1 AND m.status = 'sent'", cid)  # fmt: skip
        return str(found[0]["id"]) if found else None

    message_id = await eventually(recorded, timeout=20)

    async def counted() -> bool:
        return bool(await fetchval(stack.infra, "analytics",
                                   "SELECT opened_at IS NOT NULL FROM campaign_messages"
                                   " WHERE message_id = $1 AND customer_id = $2",
                                   message_id, person.id))  # fmt: skip

    await eventually(counted, timeout=30)
    return message_id


async def test_campaign_mail_is_exported_then_erased_everywhere(stack, campaign_sink, http, auth):
    person, label = Person(), tag("priv-")
    person.id = await add_customer(http, stack, auth, person.email, label,
                                   first_name=person.first_name, last_name=person.last_name,
                                   phone=person.phone)  # fmt: skip
    await launch(http, stack, auth, label, 1)
    message_id = await mailed_and_opened(http, stack, campaign_sink, person)

    exported = await request(http, stack, auth, "export", person.id)
    assert {s: exported["services"][s] for s in ("campaigns", "analytics")} == {
        "campaigns": "completed", "analytics": "completed"}  # fmt: skip
    document = (await http.get(
        f"{stack.contacts}/api/v1/privacy/requests/{exported['request_id']}/download",
        headers=auth)).json()  # fmt: skip
    campaigns = document["campaigns"]
    assert campaigns["audience"][0]["email"] == person.email
    assert [m["segment_name"] for m in campaigns["segment_memberships"]] == [label]
    [message] = campaigns["messages"]
    assert message["subject"] == f"Hi {person.first_name}"
    assert message["opens"][0]["user_agent"] == f"Mail of {person.last_name}"
    assert [m["message_id"] for m in document["analytics"]["campaign_messages"]] == [message_id]

    erased = await request(http, stack, auth, "erase", person.id)
    assert erased["services"]["campaigns"] == erased["services"]["analytics"] == "completed"
    assert leaks(stack.infra, person) == {}
    assert await fetchval(stack.infra, "analytics",
                          "SELECT customer_id FROM campaign_messages WHERE message_id = $1",
                          message_id) is None  # fmt: skip
    assert await fetchval(stack.infra, "campaigns",
                          "SELECT count(*) FROM segment_members WHERE customer_id = $1",
                          uuid.UUID(person.id)) == 0  # fmt: skip
    assert await fetchval(stack.infra, "campaigns",
                          "SELECT count(*) FROM erased_subjects WHERE value = $1",
                          email_hash(person.email)) == 1  # fmt: skip

    await redeliver(stack, person, message_id)
    assert leaks(stack.infra, person) == {}
    assert await fetchval(stack.infra, "analytics",
                          "SELECT customer_id FROM campaign_messages WHERE message_id = $1",
                          message_id) is None  # fmt: skip


async def redeliver(stack, person: Person, message_id: str) -> None:  # type: ignore[no-untyped-def]
    """The person's snapshot and an open of their mail, late, under new ids: both dropped."""
    now = datetime.now(UTC)
    stale: list[Event] = [
        CustomerCreated(customer_id=person.id, email=person.email, first_name=person.first_name,
                        last_name=person.last_name, phone=person.phone),
        MessageOpened(message_id=message_id, customer_id=person.id, at=now),
    ]  # fmt: skip
    ids = []
    for event in stale:
        event_id = uuid.uuid4()
        ids.append(event_id)
        headers = headers_for(event_id, event.ce_type(), f"/ecrm/{event.owner}", now, event.key())
        await produce(stack.infra.bootstrap, event.topic(), event.model_dump(mode="json"),
                      event.key(), headers)  # fmt: skip

    async def consumed() -> bool:
        counts = [
            await fetchval(stack.infra, s, "SELECT count(*) FROM inbox WHERE event_id = ANY($1)",
                           ids)
            for s in ("campaigns", "analytics")
        ]  # fmt: skip
        return counts == [1, 2]  # campaigns does not consume its own message events

    await eventually(consumed, timeout=30)


async def test_an_erased_address_is_never_mailed_again(stack, campaign_sink, http, auth):
    person, label = Person(), tag("again-")
    person.id = await add_customer(http, stack, auth, person.email, tag("before-"))
    await request(http, stack, auth, "erase", person.id)

    control = f"{tag('control.')}@example.com"
    await add_customer(http, stack, auth, control, label)
    # The address comes back as a new customer: contacts accepts it, campaigns never mails it.
    await add_customer(http, stack, auth, person.email, label)
    await launch(http, stack, auth, label, 1)
    await eventually(lambda: campaign_sink.to(control), timeout=30)

    # Even a live audience row with the address (say, restored from a backup) is refused by the
    # sender's own check.
    backup_id, backup_label = uuid.uuid4(), tag("backup-")
    conn = await asyncpg.connect(stack.infra.dsn("campaigns"))
    try:
        await conn.execute(
            "INSERT INTO audience (customer_id, known, live, email, tags, consent)"
            " VALUES ($1, true, true, $2, $3, '{\"email\": \"subscribed\"}')",
            backup_id, person.email, [backup_label],
        )  # fmt: skip
        await launch(http, stack, auth, backup_label, 1)

        async def refused() -> str | None:
            return await conn.fetchval(
                "SELECT error FROM messages WHERE customer_id = $1 AND status = 'skipped'",
                backup_id,
            )

        assert "erased" in await eventually(refused, timeout=30)
        assert await conn.fetchval(
            "SELECT email FROM messages WHERE customer_id = $1", backup_id
        ) is None  # fmt: skip
    finally:
        await conn.execute("DELETE FROM segment_members WHERE customer_id = $1", backup_id)
        await conn.execute("DELETE FROM audience WHERE customer_id = $1", backup_id)
        await conn.close()
    assert campaign_sink.to(person.email) == []
