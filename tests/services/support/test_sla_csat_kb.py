"""SLA breaches from the timer, the signed CSAT link, and the self-service knowledge base."""

from __future__ import annotations

import asyncio
import random
import string
import uuid

from services.support import csat_token
from tests.services.support.conftest import query
from tests.support.events import read_topic, wait_for_events
from tests.support.infra import SIGNING_KEY

TOPIC = "ecrm.support.ticket"


async def open_ticket(http, support, auth, email, **extra):  # type: ignore[no-untyped-def]
    body = {"subject": "Slow", "body": "It is slow", "requester_email": email}
    response = await http.post(f"{support}/api/v1/tickets", json=body | extra, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def breaches(infra, ticket_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        e.data["target"]
        for _, e in await read_topic(infra.bootstrap, TOPIC)
        if e and e.name == "SlaBreached" and e.data["ticket_id"] == ticket_id
    )


async def test_sla_breach_fires_on_its_own_once_per_target(infra, support, http, auth, email):
    policy = await http.put(
        f"{support}/api/v1/sla/policies/urgent",
        json={"first_response_seconds": 1, "resolution_seconds": 2},
        headers=auth,
    )
    assert policy.status_code == 200, policy.text
    ticket = await open_ticket(http, support, auth, email, priority="urgent")
    # no request from here on: only the timer can notice
    await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: e.name == "SlaBreached" and e.data["ticket_id"] == ticket["id"],
        count=2,
        timeout=20,
    )
    await asyncio.sleep(1.5)
    assert await breaches(infra, ticket["id"]) == ["first_response", "resolution"]


async def test_sla_clock_pauses_while_pending(infra, support, http, auth, email):
    await http.put(
        f"{support}/api/v1/sla/policies/low",
        json={"first_response_seconds": 2, "resolution_seconds": 2},
        headers=auth,
    )
    ticket = await open_ticket(http, support, auth, email, priority="low")
    url = f"{support}/api/v1/tickets/{ticket['id']}"
    await http.patch(url, json={"status": "pending"}, headers=auth)
    await asyncio.sleep(3)
    assert await breaches(infra, ticket["id"]) == []
    resumed = (await http.patch(url, json={"status": "open"}, headers=auth)).json()
    assert resumed["sla"]["resolution_due"] > ticket["sla"]["resolution_due"]
    await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: e.name == "SlaBreached" and e.data["ticket_id"] == ticket["id"],
        count=2,
        timeout=20,
    )


async def test_sla_policy_validation(support, http, auth, infra):
    url = f"{support}/api/v1/sla/policies"
    shorter = await http.put(
        f"{url}/normal", json={"first_response_seconds": 60, "resolution_seconds": 30}, headers=auth
    )
    assert shorter.status_code == 422
    assert shorter.json()["errors"][0]["field"] == "resolution_seconds"
    assert (
        await http.put(
            f"{url}/galactic",
            json={"first_response_seconds": 1, "resolution_seconds": 2},
            headers=auth,
        )
    ).status_code == 404
    reader = {"Authorization": f"Bearer {infra.token('support:read')}"}
    listed = (await http.get(url, headers=reader)).json()["items"]
    assert {p["priority"] for p in listed} == {"urgent", "high", "normal", "low"}
    assert (
        await http.put(
            f"{url}/normal",
            json={"first_response_seconds": 60, "resolution_seconds": 90},
            headers=reader,
        )
    ).status_code == 403


async def test_csat_link_rates_once_and_refuses_tampering(
    infra, support, http, auth, email, mail_sink
):
    ticket = await open_ticket(http, support, auth, email)
    early = csat_token.sign(SIGNING_KEY, uuid.UUID(ticket["id"]))
    not_yet = await http.post(f"{support}/api/v1/csat/{early}", json={"rating": 4})
    assert not_yet.status_code == 409
    resolved = (
        await http.patch(
            f"{support}/api/v1/tickets/{ticket['id']}", json={"status": "resolved"}, headers=auth
        )
    ).json()
    link = resolved["csat_url"]
    token = link.rsplit("/", 1)[1]

    async def mailed() -> list:
        return [m for m in mail_sink.to(email) if token in m.get_content()]

    from tests.support.events import eventually

    await eventually(mailed, timeout=20)  # the requester got the link by mail

    survey = (await http.get(f"{support}/api/v1/csat/{token}")).json()
    assert (survey["rateable"], survey["rating"]) == (True, None)
    head, _, sig = token.partition(".")
    tampered = f"{head}.{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"
    assert (
        await http.post(f"{support}/api/v1/csat/{tampered}", json={"rating": 5})
    ).status_code == 403
    assert (await http.get(f"{support}/api/v1/csat/garbage")).status_code == 400
    out_of_range = await http.post(f"{support}/api/v1/csat/{token}", json={"rating": 6})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["errors"][0]["field"] == "rating"
    rated = await http.post(
        f"{support}/api/v1/csat/{token}", json={"rating": 5, "comment": "Quick and kind"}
    )
    assert rated.status_code == 201
    twice = await http.post(f"{support}/api/v1/csat/{token}", json={"rating": 1})
    assert twice.status_code == 409
    await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: (
            e.name == "SatisfactionRated"
            and e.data["ticket_id"] == ticket["id"]
            and e.data["rating"] == 5
        ),
    )
    got = (await http.get(f"{support}/api/v1/tickets/{ticket['id']}", headers=auth)).json()
    assert got["csat"]["rating"] == 5
    rows = await query(
        infra, "SELECT rating FROM csat_ratings WHERE ticket_id = $1", uuid.UUID(ticket["id"])
    )
    assert [r["rating"] for r in rows] == [5]


def _word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=12))


async def test_kb_search_ranks_and_hides_drafts(support, http, auth):
    marker = _word()
    url = f"{support}/api/v1/kb/articles"
    articles = [
        {
            "title": "Reset your password",
            "category": "account",
            "status": "published",
            "body": f"{marker}: to reset a password open settings; the password link expires.",
        },
        {
            "title": "Billing questions",
            "category": "billing",
            "status": "published",
            "body": f"{marker}: invoices are monthly. Your password is never needed for this.",
        },
        {
            "title": "Password internals",
            "category": "account",
            "body": f"{marker}: draft notes about password storage.",
        },
    ]
    made = []
    for article in articles:
        response = await http.post(url, json=article, headers=auth)
        assert response.status_code == 201, response.text
        made.append(response.json())

    found = (await http.get(url, params={"q": f"{marker} password"})).json()["items"]
    assert [a["id"] for a in found] == [made[0]["id"], made[1]["id"]]
    assert found[0]["rank"] > found[1]["rank"]

    draft = made[2]["id"]
    assert (await http.get(f"{url}/{draft}")).status_code == 404
    assert (await http.get(f"{url}/{draft}", headers=auth)).status_code == 200
    assert (await http.get(url, params={"status": "draft"})).status_code == 401
    with_drafts = (await http.get(url, params={"q": marker, "status": "all"}, headers=auth)).json()[
        "items"
    ]
    assert len(with_drafts) == 3
    assert (await http.post(url, json=articles[0])).status_code == 401


async def test_kb_views_publish_and_etag(support, http, auth):
    url = f"{support}/api/v1/kb/articles"
    created = await http.post(
        url, json={"title": f"Shipping {_word()}", "body": "Two days."}, headers=auth
    )
    article = created.json()
    assert (await http.get(f"{url}/{article['id']}")).status_code == 404
    published = await http.patch(
        f"{url}/{article['id']}",
        json={"status": "published"},
        headers=auth | {"If-Match": created.headers["ETag"]},
    )
    assert published.status_code == 200 and published.json()["published_at"]
    stale = await http.patch(
        f"{url}/{article['id']}",
        json={"title": "Old"},
        headers=auth | {"If-Match": created.headers["ETag"]},
    )
    assert stale.status_code == 412
    for _ in range(2):
        assert (await http.get(f"{url}/{article['id']}")).status_code == 200
    counted = (await http.get(f"{url}/{article['id']}", headers=auth)).json()
    assert counted["views"] == 2  # agents reading in the console do not count
    bad = await http.post(url, json={"title": "", "body": "x"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "title"
