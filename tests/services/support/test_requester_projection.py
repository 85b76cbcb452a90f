"""The requester projection follows contacts: identity links and customer merges."""

from __future__ import annotations

import uuid

from tests.support.events import eventually


async def test_tickets_follow_the_customer_into_a_merge(support, contacts, http, auth, email):
    opened = await http.post(
        f"{support}/api/v1/tickets",
        headers=auth,
        json={"subject": "Where is my parcel", "body": "Order 12", "requester_email": email},
    )
    ticket = opened.json()
    url = f"{support}/api/v1/tickets/{ticket['id']}"

    async def customer_of_ticket() -> str | None:
        return (await http.get(url, headers=auth)).json()["customer_id"]

    merged_id = await eventually(customer_of_ticket)  # contacts created the requester
    survivor = await http.post(
        f"{contacts}/api/v1/customers",
        headers=auth,
        json={"email": f"main.{uuid.uuid4().hex[:10]}@example.com"},
    )
    survivor_id = survivor.json()["id"]
    merge = await http.post(
        f"{contacts}/api/v1/customers/{survivor_id}/merge",
        headers=auth,
        json={"merged_id": merged_id},
    )
    assert merge.status_code == 200, merge.text

    async def moved() -> bool:
        return await customer_of_ticket() == survivor_id

    await eventually(moved)
    listed = await http.get(
        f"{support}/api/v1/tickets", params={"customer_id": survivor_id}, headers=auth
    )
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]


async def test_a_ticket_from_an_unknown_sender_is_announced_again_with_its_customer(
    infra, support, contacts, http, auth, email
):
    """Opened before contacts knew the address, the ticket is said again once it does, so the
    customer's timeline, score and segments see it."""
    from tests.support.events import wait_for_events

    opened = (
        await http.post(
            f"{support}/api/v1/tickets",
            headers=auth,
            json={"subject": "Invoice copy", "body": "Please resend", "requester_email": email},
        )
    ).json()
    events = await wait_for_events(
        infra.bootstrap,
        "ecrm.support.ticket",
        lambda e: e.name == "TicketOpened" and e.data["ticket_id"] == opened["id"],
        count=2,
    )
    # keyed by the ticket, then by the customer: two partitions, so read order says nothing
    announced = {e.data["customer_id"]: record for record, e in events}
    assert None in announced and len(announced) == 2
    customer_id = next(c for c in announced if c is not None)
    assert announced[customer_id].key.decode() == customer_id
    customers = [None, customer_id]
    found = (
        await http.get(f"{contacts}/api/v1/customers", params={"email": email}, headers=auth)
    ).json()
    assert found["items"][0]["id"] == customers[1]
