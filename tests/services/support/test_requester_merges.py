"""The requester projection resolves merged customers to their survivor, whatever order contacts'
events arrive in (a merge and a late identity link of the merged customer travel on different
partitions), and an unmerge makes the restored customer stand for itself again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.events.contacts import CustomersMerged, Identity, IdentityLinked
from shared.events.privacy import CustomersUnmerged
from tests.services.support.conftest import query
from tests.support.events import eventually, publish


async def applied(infra, event_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    async def claimed() -> bool:
        return bool(await query(infra, "SELECT 1 FROM inbox WHERE event_id = $1", event_id))

    await eventually(claimed, timeout=20)


async def test_a_late_identity_link_of_a_merged_customer_points_at_the_survivor(
    infra, support, http, auth, email
):
    opened = await http.post(f"{support}/api/v1/tickets", headers=auth, json={
        "subject": "Parcel", "body": "Where is it?", "requester_email": email})  # fmt: skip
    assert opened.status_code == 201, opened.text
    url = f"{support}/api/v1/tickets/{opened.json()['id']}"

    async def customer_of_ticket() -> str | None:
        return (await http.get(url, headers=auth)).json()["customer_id"]

    merged_id = await eventually(customer_of_ticket)  # contacts resolved the requester
    survivor_id = str(uuid.uuid4())
    merge = CustomersMerged(customer_id=survivor_id, merged_id=merged_id)
    await applied(infra, await publish(infra.bootstrap, merge))
    assert await customer_of_ticket() == survivor_id

    late = IdentityLinked(customer_id=merged_id, identity=Identity(kind="email", value=email))
    await applied(infra, await publish(infra.bootstrap, late))
    assert await customer_of_ticket() == survivor_id
    [requester] = await query(infra, "SELECT customer_id FROM requesters WHERE email = $1", email)
    assert str(requester["customer_id"]) == survivor_id

    unmerged = CustomersUnmerged(
        customer_id=survivor_id, restored_id=merged_id,
        identities=[{"kind": "email", "value": email}], at=datetime.now(UTC),
    )  # fmt: skip
    await applied(infra, await publish(infra.bootstrap, unmerged))
    assert await customer_of_ticket() == merged_id
    relinked = IdentityLinked(customer_id=merged_id, identity=Identity(kind="email", value=email))
    await applied(infra, await publish(infra.bootstrap, relinked))
    assert await customer_of_ticket() == merged_id  # no longer resolved to the old survivor
    gone = await query(infra, "SELECT 1 FROM merged_customers WHERE merged_id = $1",
                       uuid.UUID(merged_id))  # fmt: skip
    assert gone == []


async def test_customers_merged_into_a_merged_customer_follow_the_chain(
    infra, support, http, auth, email
):
    opened = await http.post(f"{support}/api/v1/tickets", headers=auth, json={
        "subject": "Invoice", "body": "Copy please", "requester_email": email})  # fmt: skip
    url = f"{support}/api/v1/tickets/{opened.json()['id']}"

    async def customer_of_ticket() -> str | None:
        return (await http.get(url, headers=auth)).json()["customer_id"]

    first = await eventually(customer_of_ticket)
    middle, last = str(uuid.uuid4()), str(uuid.uuid4())
    await applied(
        infra, await publish(infra.bootstrap, CustomersMerged(customer_id=middle, merged_id=first))
    )
    await applied(
        infra, await publish(infra.bootstrap, CustomersMerged(customer_id=last, merged_id=middle))
    )
    late = IdentityLinked(customer_id=first, identity=Identity(kind="email", value=email))
    await applied(infra, await publish(infra.bootstrap, late))
    assert await customer_of_ticket() == last
