"""Tickets over the API: open, transitions, ETags, lists, merge, auth."""

from __future__ import annotations

import uuid

from tests.support.events import wait_for_events

TOPIC = "ecrm.support.ticket"


async def open_ticket(http, support, auth, email, **extra):  # type: ignore[no-untyped-def]
    body = {"subject": "Cannot pay", "body": "The card is declined", "requester_email": email}
    response = await http.post(f"{support}/api/v1/tickets", json=body | extra, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def patch(http, support, auth, ticket, body, etag=None):  # type: ignore[no-untyped-def]
    headers = auth | ({"If-Match": etag} if etag else {})
    return await http.patch(f"{support}/api/v1/tickets/{ticket['id']}", json=body, headers=headers)


async def test_web_form_ticket_by_email_then_assignment(infra, support, http, auth, email):
    ticket = await open_ticket(
        http, support, auth, email.upper(), channel="web", priority="high", tags=["Billing"]
    )
    assert (ticket["requester_email"], ticket["status"], ticket["priority"], ticket["tags"]) == (
        email,
        "new",
        "high",
        ["billing"],
    )
    assigned = await patch(http, support, auth, ticket, {"assignee": "ann", "team": "billing"})
    assert (assigned.json()["assignee"], assigned.json()["team"]) == ("ann", "billing")
    await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: (
            e.name == "TicketAssigned"
            and e.data["ticket_id"] == ticket["id"]
            and e.data["assignee"] == "ann"
        ),
    )
    thread = (
        await http.get(f"{support}/api/v1/tickets/{ticket['id']}/messages", headers=auth)
    ).json()["items"]
    assert [(m["author"], m["author_kind"]) for m in thread] == [(email, "customer")]


async def test_status_transitions_and_forbidden_moves(infra, support, http, auth, email):
    ticket = await open_ticket(http, support, auth, email)
    for target in ("open", "pending", "resolved"):
        moved = await patch(http, support, auth, ticket, {"status": target})
        assert moved.status_code == 200 and moved.json()["status"] == target
    resolved = moved.json()
    assert resolved["sla"]["paused"] is True and resolved["csat_url"]
    back_to_new = await patch(http, support, auth, ticket, {"status": "new"})
    assert back_to_new.status_code == 422
    assert back_to_new.json()["errors"][0]["field"] == "status"
    closed = await patch(http, support, auth, ticket, {"status": "closed"})
    assert closed.json()["closed_at"] is not None
    reopen = await patch(http, support, auth, ticket, {"status": "open"})
    assert reopen.status_code == 422 and "closed" in reopen.json()["detail"]
    unknown = await patch(http, support, auth, ticket, {"status": "archived"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "status"
    changes = await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: e.name == "TicketStatusChanged" and e.data["ticket_id"] == ticket["id"],
        count=4,
    )
    assert [e.data["to_status"] for _, e in changes] == ["open", "pending", "resolved", "closed"]


async def test_customer_reply_reopens_a_resolved_ticket(support, http, auth, email):
    ticket = await open_ticket(http, support, auth, email)
    await patch(http, support, auth, ticket, {"status": "resolved"})
    reply = await http.post(
        f"{support}/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Not fixed", "author_kind": "customer"},
        headers=auth,
    )
    assert reply.status_code == 201 and reply.json()["ticket_status"] == "open"
    assert reply.json()["author"] == email


async def test_stale_etag_is_refused(support, http, auth, email):
    ticket = await open_ticket(http, support, auth, email)
    fresh = await http.get(f"{support}/api/v1/tickets/{ticket['id']}", headers=auth)
    etag = fresh.headers["ETag"]
    first = await patch(http, support, auth, ticket, {"priority": "urgent"}, etag)
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = await patch(http, support, auth, ticket, {"priority": "low"}, etag)
    assert stale.status_code == 412
    assert (await http.get(f"{support}/api/v1/tickets/{ticket['id']}", headers=auth)).json()[
        "priority"
    ] == "urgent"


async def test_list_by_requester_and_status_with_cursor(support, http, auth, email):
    made = [await open_ticket(http, support, auth, email) for _ in range(3)]
    await patch(http, support, auth, made[0], {"status": "pending"})
    url = f"{support}/api/v1/tickets"
    new_ones = (
        await http.get(url, params={"requester_email": email, "status": "new"}, headers=auth)
    ).json()
    assert {t["id"] for t in new_ones["items"]} == {made[1]["id"], made[2]["id"]}
    page1 = (
        await http.get(url, params={"requester_email": email, "limit": 2}, headers=auth)
    ).json()
    page2 = (
        await http.get(
            url,
            params={"requester_email": email, "limit": 2, "cursor": page1["next_cursor"]},
            headers=auth,
        )
    ).json()
    assert [t["id"] for t in page1["items"] + page2["items"]] == [t["id"] for t in made[::-1]]
    assert page2["next_cursor"] is None
    bad = await http.get(url, params={"requester_email": "not-an-email"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "requester_email"


async def test_merge_moves_the_thread_and_closes_the_merged_ticket(
    infra, support, http, auth, email
):
    survivor = await open_ticket(http, support, auth, email, subject="First")
    merged = await open_ticket(http, support, auth, email, subject="Duplicate")
    done = await http.post(
        f"{support}/api/v1/tickets/{survivor['id']}/merge",
        json={"merged_id": merged["id"]},
        headers=auth,
    )
    assert done.status_code == 200, done.text
    thread = (
        await http.get(f"{support}/api/v1/tickets/{survivor['id']}/messages", headers=auth)
    ).json()["items"]
    assert len(thread) == 2
    gone = (await http.get(f"{support}/api/v1/tickets/{merged['id']}", headers=auth)).json()
    assert (gone["status"], gone["merged_into"]) == ("closed", survivor["id"])
    again = await http.post(
        f"{support}/api/v1/tickets/{survivor['id']}/merge",
        json={"merged_id": merged["id"]},
        headers=auth,
    )
    assert again.status_code == 409
    write = await http.post(
        f"{support}/api/v1/tickets/{merged['id']}/messages", json={"body": "hello"}, headers=auth
    )
    assert write.status_code == 409
    await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: (
            e.name == "TicketStatusChanged"
            and e.data["ticket_id"] == merged["id"]
            and e.data.get("merged_into") == survivor["id"]
        ),
    )


async def test_auth_and_validation(infra, support, http, email):
    url = f"{support}/api/v1/tickets"
    assert (await http.get(url)).status_code == 401
    reader = {"Authorization": f"Bearer {infra.token('support:read')}"}
    other = {"Authorization": f"Bearer {infra.token('contacts:write')}"}
    body = {"subject": "x", "body": "y", "requester_email": email}
    assert (await http.get(url, headers=reader)).status_code == 200
    assert (await http.post(url, json=body, headers=reader)).status_code == 403
    assert (await http.get(url, headers=other)).status_code == 403
    writer = {"Authorization": f"Bearer {infra.token('support:write')}"}
    bad = await http.post(url, json=body | {"requester_email": "nope"}, headers=writer)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "requester_email"
    extra = await http.post(url, json=body | {"colour": "red"}, headers=writer)
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "colour"
    missing = await http.get(f"{url}/{uuid.uuid4()}", headers=reader)
    assert missing.status_code == 404
