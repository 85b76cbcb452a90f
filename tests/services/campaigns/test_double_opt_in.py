"""Double opt-in on real contacts and campaigns processes and an SMTP sink: a customer whose
email consent is `pending` gets the confirmation mail of a `consent_pending` journey, is not
marketed to, and is subscribed only once the link's page is confirmed (a POST, not the GET a
mail scanner makes), and only while the consent is still pending."""

from __future__ import annotations

import re
import uuid

import asyncpg

from shared.events.campaigns import SubscriptionConfirmed
from tests.services.campaigns.conftest import address, new_customer, projected, sink_holds
from tests.support.events import eventually, wait_for_events

CONFIRM = re.compile(r'href="([^"]*/u/confirm/[^"]+)"')


async def _confirmation_journey(http, campaigns, auth, marker: str) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "name": f"double opt-in {marker}",
        "trigger": "consent_pending",
        "transactional": True,
        "condition": {"tag": marker},
        "subject": f"Confirm {marker}",
        "html": '<p>Hi {{ first_name }}, <a href="{{ confirm_url }}">yes, subscribe me</a></p>',
    }
    response = await http.post(f"{campaigns}/api/v1/journeys", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def _consent(http, contacts, auth, customer_id: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = await http.get(f"{contacts}/api/v1/customers/{customer_id}", headers=auth)
    detail = found.json()["consent_details"]["email"]
    return detail["state"], detail["source"]


def _confirm_link(mail) -> str:  # type: ignore[no-untyped-def]
    (link,) = CONFIRM.findall(mail.get_content())
    return link.replace("&amp;", "&")


async def test_a_pending_consent_is_confirmed_by_the_mail_s_link_once(
    contacts, campaigns, smtp_sink, http, auth
):
    marker = uuid.uuid4().hex[:8]
    journey = await _confirmation_journey(http, campaigns, auth, marker)
    ada = await new_customer(
        http, contacts, auth, email=address("doi"), first_name="Ada", tags=[marker],
        consent={"email": "pending"},
    )  # fmt: skip
    marketing = {"all": [{"tag": marker}, {"consent": "email"}]}
    await projected(http, campaigns, auth, {"all": [{"tag": marker}]}, 1)
    await projected(http, campaigns, auth, marketing, 0)  # pending is not subscribed

    await sink_holds(smtp_sink, [ada["email"]])
    [mail] = smtp_sink.to(ada["email"])
    assert mail["Subject"] == f"Confirm {marker}"
    link = _confirm_link(mail)

    page = await http.get(link)  # what a mail scanner does: it subscribes nobody
    assert page.status_code == 200 and 'method="post"' in page.text
    assert await _consent(http, contacts, auth, ada["id"]) == ("pending", "api")

    confirmed = await http.post(link)
    assert confirmed.status_code == 200, confirmed.text
    assert await eventually(
        lambda: _is(http, contacts, auth, ada["id"], ("subscribed", "double_opt_in"))
    )
    assert (await http.post(link)).status_code == 200  # a second click changes nothing
    await projected(http, campaigns, auth, marketing, 1)
    history = await http.get(
        f"{contacts}/api/v1/customers/{ada['id']}/consent/history", headers=auth
    )
    assert [(h["state"], h["source"], h["legal_basis"]) for h in history.json()["items"]] == [
        ("subscribed", "double_opt_in", "consent"),
        ("pending", "api", None),
    ]
    stats = await http.get(f"{campaigns}/api/v1/journeys/{journey['id']}/stats", headers=auth)
    assert stats.json()["confirmed"] == 1
    await http.patch(
        f"{campaigns}/api/v1/journeys/{journey['id']}", json={"enabled": False}, headers=auth
    )


async def _is(http, contacts, auth, customer_id: str, expected: tuple[str, str]) -> bool:  # type: ignore[no-untyped-def]
    return await _consent(http, contacts, auth, customer_id) == expected


async def _applied_by_contacts(infra, customer_id: str) -> None:  # type: ignore[no-untyped-def]
    [(_, event)] = await wait_for_events(
        infra.bootstrap,
        SubscriptionConfirmed.topic(),
        lambda e: e.name == "SubscriptionConfirmed" and e.subject == customer_id,
    )

    async def claimed() -> bool:
        conn = await asyncpg.connect(infra.dsn("contacts"))
        try:
            return bool(
                await conn.fetchval("SELECT 1 FROM inbox WHERE event_id = $1", uuid.UUID(event.id))
            )
        finally:
            await conn.close()

    assert await eventually(claimed)


async def test_a_confirmation_after_an_unsubscribe_does_not_subscribe(
    infra, contacts, campaigns, smtp_sink, http, auth
):
    marker = uuid.uuid4().hex[:8]
    journey = await _confirmation_journey(http, campaigns, auth, marker)
    bob = await new_customer(
        http, contacts, auth, email=address("doi"), tags=[marker], consent={"email": "pending"}
    )
    await sink_holds(smtp_sink, [bob["email"]])
    link = _confirm_link(smtp_sink.to(bob["email"])[0])
    withdrawn = await http.put(
        f"{contacts}/api/v1/customers/{bob['id']}/consent",
        json={"channel": "email", "state": "unsubscribed"},
        headers=auth,
    )
    assert withdrawn.status_code == 200
    assert (await http.post(link)).status_code == 200
    stats = await http.get(f"{campaigns}/api/v1/journeys/{journey['id']}/stats", headers=auth)
    assert stats.json()["confirmed"] == 1  # recorded; contacts decides, and keeps the unsubscribe
    await _applied_by_contacts(infra, bob["id"])
    assert await _consent(http, contacts, auth, bob["id"]) == ("unsubscribed", "api")
    await http.patch(
        f"{campaigns}/api/v1/journeys/{journey['id']}", json={"enabled": False}, headers=auth
    )


async def test_a_confirmation_journey_must_be_transactional_and_links_are_signed(
    campaigns, http, auth
):
    body = {
        "name": "doi",
        "trigger": "consent_pending",
        "subject": "Confirm",
        "html": '<a href="{{ confirm_url }}">yes</a>',
    }
    refused = await http.post(f"{campaigns}/api/v1/journeys", json=body, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "transactional"
    forged = await http.post(f"{campaigns}/u/confirm/eyJtIjoieCJ9.AAAA")
    assert forged.status_code == 400
