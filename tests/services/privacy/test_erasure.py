"""Erasure reaches every service: afterwards no database holds the person's values in plain form,
not even after `ecrm replay` or a re-delivery of their old events with new ids."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime

from shared.cloudevents import headers_for
from shared.events.contacts import CustomerCreated, IdentityRequest
from shared.events.interactions import InteractionRecorded
from shared.privacy import email_hash
from tests.services.privacy.conftest import (
    SERVICES,
    Person,
    create_customer,
    fetchval,
    in_every_channel,
    leaks,
    wait_completed,
)
from tests.support.events import eventually, produce


async def erase(http, stack, auth, customer_id: str) -> str:  # type: ignore[no-untyped-def]
    response = await http.post(
        f"{stack.contacts}/api/v1/customers/{customer_id}/erase", headers=auth
    )
    assert response.status_code == 202, response.text
    return response.json()["request_id"]


async def test_erasure_leaves_no_personal_value_in_any_database(stack, http, auth):
    person = Person()
    await in_every_channel(http, stack, auth, person)
    assert leaks(stack.infra, person)["contacts"]  # the check does find plain values

    request_id = await erase(http, stack, auth, person.id)
    status = await wait_completed(http, stack, auth, request_id)

    assert status["kind"] == "erasure"
    assert {s: status["services"][s] for s in SERVICES} == {s: "completed" for s in SERVICES}
    assert leaks(stack.infra, person) == {}
    tombstone = await http.get(f"{stack.contacts}/api/v1/customers/{person.id}", headers=auth)
    assert tombstone.status_code == 404
    assert await fetchval(
        stack.infra, "contacts", "SELECT erased_at IS NOT NULL FROM customers WHERE id = $1",
        uuid.UUID(person.id),
    )  # fmt: skip

    await replay_every_outbox(stack)
    await redeliver_old_events(stack, person)
    assert leaks(stack.infra, person) == {}


async def replay_every_outbox(stack) -> None:  # type: ignore[no-untyped-def]
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ecrm.cli", "replay", *(f"--service={s}" for s in SERVICES)],
        env=stack.infra.env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    async def republished() -> bool:
        pending = [
            await fetchval(stack.infra, s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            for s in SERVICES
        ]
        return not any(pending)

    await eventually(republished, timeout=30)


async def redeliver_old_events(stack, person: Person) -> None:  # type: ignore[no-untyped-def]
    """The person's events as they were before the erasure, under new ids (as after the inbox
    was purged): every consumer must drop them."""
    now = datetime.now(UTC)
    stale = [
        CustomerCreated(customer_id=person.id, email=person.email, first_name=person.first_name,
                        last_name=person.last_name, phone=person.phone),
        IdentityRequest(request_id=str(uuid.uuid4()), requested_by="support", email=person.email,
                        traits={"first_name": person.first_name}),
        InteractionRecorded(interaction_id=str(uuid.uuid4()), anonymous_id=person.anonymous_id,
                            kind="identify", occurred_at=now, traits={"email": person.email}),
    ]  # fmt: skip
    ids = []
    for event in stale:
        event_id = uuid.uuid4()
        ids.append(event_id)
        headers = headers_for(event_id, event.ce_type(), f"/ecrm/{event.owner}", now, event.key())
        await produce(stack.infra.bootstrap, event.topic(), event.model_dump(mode="json"),
                      event.key(), headers)  # fmt: skip

    async def consumed() -> bool:  # claimed in the inbox: the consumers have seen them
        counts = [
            await fetchval(stack.infra, s, "SELECT count(*) FROM inbox WHERE event_id = ANY($1)",
                           ids)
            for s in ("contacts", "interactions", "support", "sales")
        ]  # fmt: skip
        return all(counts)

    await eventually(consumed, timeout=30)


async def test_erased_address_stays_suppressed_and_a_new_request_is_answered(stack, http, auth):
    person = Person()
    await create_customer(http, stack, auth, person)
    first = await erase(http, stack, auth, person.id)
    await wait_completed(http, stack, auth, first)
    stored = await fetchval(
        stack.infra, "support", "SELECT count(*) FROM erased_subjects WHERE value = $1",
        email_hash(person.email),
    )  # fmt: skip
    assert stored == 1

    again = await erase(http, stack, auth, person.id)  # erasing twice is answered again
    assert again != first
    await wait_completed(http, stack, auth, again)


async def test_a_service_down_during_erasure_completes_it_when_back(stack, http, auth):
    person = Person()
    await create_customer(http, stack, auth, person)
    await eventually(lambda: fetchval(
        stack.infra, "sales", "SELECT count(*) FROM customers WHERE id = $1",
        uuid.UUID(person.id)), timeout=30)  # fmt: skip
    sales = stack.infra.pid("sales")
    os.kill(sales, signal.SIGSTOP)  # down: it neither consumes nor answers
    try:
        request_id = await erase(http, stack, auth, person.id)
        await asyncio.sleep(3)
        status = (await http.get(f"{stack.contacts}/api/v1/privacy/requests/{request_id}",
                                 headers=auth)).json()  # fmt: skip
        assert status["status"] == "pending"
        assert status["services"]["sales"] == "pending"
        assert status["services"]["contacts"] == "completed"
    finally:
        os.kill(sales, signal.SIGCONT)
    await wait_completed(http, stack, auth, request_id, timeout=60)
    email = await fetchval(stack.infra, "sales", "SELECT email FROM customers WHERE id = $1",
                           uuid.UUID(person.id))  # fmt: skip
    assert email is None


async def test_erasure_of_an_unknown_customer_is_404_and_needs_a_write_scope(stack, http, auth):
    missing = await http.post(f"{stack.contacts}/api/v1/customers/{uuid.uuid4()}/erase",
                              headers=auth)  # fmt: skip
    assert missing.status_code == 404
    reader = {"Authorization": f"Bearer {stack.infra.token('contacts:read')}"}
    person = Person()
    await create_customer(http, stack, auth, person)
    refused = await http.post(f"{stack.contacts}/api/v1/customers/{person.id}/erase",
                              headers=reader)  # fmt: skip
    assert refused.status_code == 403
    privacy_writer = {"Authorization": f"Bearer {stack.infra.token('privacy:write')}"}
    accepted = await http.post(f"{stack.contacts}/api/v1/customers/{person.id}/erase",
                               headers=privacy_writer)  # fmt: skip
    assert accepted.status_code == 202
    unknown = await http.get(f"{stack.contacts}/api/v1/privacy/requests/{uuid.uuid4()}",
                             headers=auth)  # fmt: skip
    assert unknown.status_code == 404
