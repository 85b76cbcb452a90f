"""Journeys fire once per trigger, and never again when the trigger event is replayed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from shared.cloudevents import headers_for
from shared.events.interactions import OrderPlaced
from shared.events.support import TicketStatusChanged
from tests.services.campaigns.conftest import address, new_customer, projected, sink_holds
from tests.support.events import eventually, produce


async def _journey(http, campaigns, auth, trigger, subject, **extra):
    body = {
        "name": trigger,
        "trigger": trigger,
        "subject": subject,
        "html": "<p>{{ first_name }} {{ event.total }}</p>",
        **extra,
    }
    response = await http.post(f"{campaigns}/api/v1/journeys", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_welcome_on_customer_created_for_subscribed_only(
    contacts, campaigns, smtp_sink, http, auth
):
    marker = uuid.uuid4().hex[:8]
    journey = await _journey(
        http,
        campaigns,
        auth,
        "customer_created",
        f"Welcome {marker}",
        condition={"all": [{"tag": marker}, {"not": {"tag": "no-welcome"}}]},
    )
    yes, no, skip = address("welcome"), address("nowelcome"), address("cond")
    # the condition's unique tag keeps other tests' new customers out of this journey
    await new_customer(
        http,
        contacts,
        auth,
        email=yes,
        first_name="Ada",
        tags=[marker],
        consent={"email": "subscribed"},
    )
    await new_customer(
        http, contacts, auth, email=no, tags=[marker], consent={"email": "unsubscribed"}
    )
    await new_customer(
        http,
        contacts,
        auth,
        email=skip,
        tags=[marker, "no-welcome"],
        consent={"email": "subscribed"},
    )
    await sink_holds(smtp_sink, [yes])
    [mail] = smtp_sink.to(yes)
    assert mail["Subject"] == f"Welcome {marker}" and "<p>Ada </p>" in mail.get_content()

    async def all_done() -> dict | None:
        stats = (
            await http.get(f"{campaigns}/api/v1/journeys/{journey['id']}/stats", headers=auth)
        ).json()
        return stats if stats["pending"] == 0 and stats["skipped"] >= 2 else None

    await eventually(all_done, timeout=30)
    assert smtp_sink.to(no) == [] and smtp_sink.to(skip) == []
    await http.patch(
        f"{campaigns}/api/v1/journeys/{journey['id']}", json={"enabled": False}, headers=auth
    )


async def test_order_and_ticket_journeys_fire_once_and_not_on_replay(
    infra, contacts, campaigns, smtp_sink, http, auth, tag
):
    marker = uuid.uuid4().hex[:8]
    # Conditioned on this test's tag: enabled for the rest of the session, an unconditioned
    # journey mailed every later test's buyers, and their timelines gained an email touch.
    thanks = await _journey(
        http, campaigns, auth, "order_placed", f"Thanks {marker}", condition={"tag": tag}
    )
    survey = await _journey(
        http,
        campaigns,
        auth,
        "ticket_resolved",
        f"How did we do {marker}",
        transactional=True,
        delay_seconds=1,
        condition={"tag": tag},
    )
    to = address("buyer")
    customer = await new_customer(
        http, contacts, auth, email=to, first_name="Bo", tags=[tag], consent={"email": "subscribed"}
    )
    await projected(http, campaigns, auth, {"tag": tag}, 1)
    now = datetime.now(UTC)
    order = OrderPlaced(
        order_id=marker,
        store_id="s1",
        customer_id=customer["id"],
        channel="store",
        currency="EUR",
        total=42.5,
        placed_at=now,
    )
    resolved = TicketStatusChanged(
        ticket_id=marker,
        customer_id=customer["id"],
        from_status="open",
        to_status="resolved",
        at=now,
    )
    reopened = TicketStatusChanged(
        ticket_id=marker,
        customer_id=customer["id"],
        from_status="resolved",
        to_status="open",
        at=now,
    )
    ids = {"order": uuid.uuid4(), "resolved": uuid.uuid4(), "reopened": uuid.uuid4()}
    for _ in range(2):  # the second round is a replay: the same ce_id each
        for name, event in (("order", order), ("resolved", resolved), ("reopened", reopened)):
            headers = headers_for(ids[name], event.ce_type(), "/tests", now, event.key())
            await produce(
                infra.bootstrap, event.topic(), event.model_dump(mode="json"), event.key(), headers
            )
    await eventually(lambda: len(smtp_sink.to(to)) >= 2, timeout=30)
    await asyncio.sleep(3)  # time for a wrong second mail to arrive
    subjects = sorted(m["Subject"] for m in smtp_sink.to(to))
    assert subjects == sorted([f"Thanks {marker}", f"How did we do {marker}"])
    thank_you = next(m for m in smtp_sink.to(to) if m["Subject"].startswith("Thanks"))
    assert "<p>Bo 42.5</p>" in thank_you.get_content()
    for journey in (thanks, survey):
        listed = (
            await http.get(f"{campaigns}/api/v1/journeys/{journey['id']}/messages", headers=auth)
        ).json()
        assert [m["status"] for m in listed["items"]] == ["sent"]
        await http.patch(
            f"{campaigns}/api/v1/journeys/{journey['id']}", json={"enabled": False}, headers=auth
        )
