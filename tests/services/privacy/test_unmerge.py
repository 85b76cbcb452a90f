"""Unmerge through the services' APIs: the restored customer gets its email, identities,
timeline, tickets and score entries back, and a touch that arrived after the merge for one of
its identities follows that identity back."""

from __future__ import annotations

import uuid

import asyncpg

from tests.services.privacy.conftest import (
    Person,
    create_customer,
    fetchval,
    track_calls,
    web_visit,
)
from tests.support.events import eventually


async def refs(infra, customer_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(infra.dsn("interactions"))
    try:
        rows = await conn.fetch("SELECT ref FROM timeline WHERE customer_id = $1",
                                uuid.UUID(customer_id))  # fmt: skip
    finally:
        await conn.close()
    return {r["ref"] for r in rows}


async def owner_of_score(infra, person: Person) -> str | None:  # type: ignore[no-untyped-def]
    value = await fetchval(
        infra, "sales", "SELECT customer_id::text FROM score_history WHERE label = $1",
        person.track_name,
    )  # fmt: skip
    return value


async def with_history(http, stack, auth, person: Person) -> set[str]:  # type: ignore[no-untyped-def]
    await create_customer(http, stack, auth, person)
    rule = {"event": person.track_name, "points": 3}
    assert (await http.post(f"{stack.sales}/api/v1/scoring/rules", json=rule,
                            headers=auth)).status_code == 201  # fmt: skip
    await web_visit(http, stack, person.anonymous_id, person.email, person.track_name)

    async def scored() -> bool:
        return await owner_of_score(stack.infra, person) == person.id

    await eventually(scored, timeout=30)
    return await refs(stack.infra, person.id)


async def test_unmerge_restores_both_customers_in_every_service(stack, http, auth):
    survivor, merged = Person(), Person()
    before_survivor = await with_history(http, stack, auth, survivor)
    before_merged = await with_history(http, stack, auth, merged)
    base = f"{stack.contacts}/api/v1/customers/{survivor.id}"

    response = await http.post(f"{base}/merge", json={"merged_id": merged.id}, headers=auth)
    assert response.status_code == 200, response.text

    async def folded() -> bool:
        moved = before_merged <= await refs(stack.infra, survivor.id)
        return moved and await owner_of_score(stack.infra, merged) == survivor.id

    await eventually(folded, timeout=30)
    late = {"type": "page", "anonymousId": merged.anonymous_id, "name": "After the merge",
            "messageId": str(uuid.uuid4())}  # fmt: skip
    await track_calls(http, stack, [late])
    late_ref = f"interaction:{await _interaction_id(stack.infra, late['messageId'])}"

    async def late_on_survivor() -> bool:
        return late_ref in await refs(stack.infra, survivor.id)

    await eventually(late_on_survivor, timeout=30)

    response = await http.post(f"{base}/unmerge", json={"merged_id": merged.id}, headers=auth)
    assert response.status_code == 200, response.text
    restored = response.json()["restored"]
    assert restored["email"] == merged.email
    assert {"kind": "anonymous_id", "value": merged.anonymous_id} in restored["identities"]

    async def restored_everywhere() -> bool:
        back = await refs(stack.infra, merged.id)
        return (before_merged | {late_ref}) <= back and (
            await owner_of_score(stack.infra, merged) == merged.id
        )

    await eventually(restored_everywhere, timeout=30)
    assert not (await refs(stack.infra, survivor.id)) & (before_merged | {late_ref})
    assert before_survivor <= await refs(stack.infra, survivor.id)
    assert await owner_of_score(stack.infra, survivor) == survivor.id
    found = await http.get(f"{stack.contacts}/api/v1/customers", params={"email": merged.email},
                           headers=auth)  # fmt: skip
    assert [c["id"] for c in found.json()["items"]] == [merged.id]

    again = await http.post(f"{base}/unmerge", json={"merged_id": merged.id}, headers=auth)
    assert again.status_code == 409
    bad = await http.post(f"{base}/unmerge", json={"merged_id": "x"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "merged_id"


async def test_unmerge_moves_tickets_back_in_support(stack, http, auth):
    survivor, merged = Person(), Person()
    for person in (survivor, merged):
        await create_customer(http, stack, auth, person)
        body = {"subject": person.ticket_subject, "requester_email": person.email,
                "body": person.ticket_body}  # fmt: skip
        response = await http.post(f"{stack.support}/api/v1/tickets", json=body, headers=auth)
        assert response.status_code == 201, response.text
        await _ticket_owner_is(stack.infra, person, person.id)
        await _identity_answer_applied(stack.infra, person)
    base = f"{stack.contacts}/api/v1/customers/{survivor.id}"
    assert (await http.post(f"{base}/merge", json={"merged_id": merged.id},
                            headers=auth)).status_code == 200  # fmt: skip
    await _ticket_owner_is(stack.infra, merged, survivor.id)
    assert (await http.post(f"{base}/unmerge", json={"merged_id": merged.id},
                            headers=auth)).status_code == 200  # fmt: skip
    await _ticket_owner_is(stack.infra, merged, merged.id)
    await _ticket_owner_is(stack.infra, survivor, survivor.id)


async def _ticket_owner_is(infra, person: Person, customer_id: str) -> None:  # type: ignore[no-untyped-def]
    async def owned() -> bool:
        owner = await fetchval(infra, "support",
                               "SELECT customer_id::text FROM tickets WHERE subject = $1",
                               person.ticket_subject)  # fmt: skip
        return owner == customer_id

    await eventually(owned, timeout=30)


async def _identity_answer_applied(infra, person: Person) -> None:  # type: ignore[no-untyped-def]
    """Contacts' answer to support's identity request has been applied (a late answer would
    point the ticket back at the merged id: support links an address without following merges).
    Support asks only when the ticket came before contacts' CustomerCreated: when the event was
    first, there is no request and nothing to wait for."""

    async def applied() -> bool:
        request_id = await fetchval(
            infra, "support", "SELECT request_id::text FROM requesters WHERE email = $1",
            person.email,
        )  # fmt: skip
        if request_id is None:
            return True
        event_id = await fetchval(
            infra, "contacts",
            "SELECT event_id FROM outbox WHERE ce_type = 'ecrm.contacts.IdentityLinked.v1'"
            " AND data ->> 'request_id' = $1",
            request_id,
        )  # fmt: skip
        return event_id is not None and await fetchval(
            infra, "support", "SELECT count(*) > 0 FROM inbox WHERE event_id = $1", event_id
        )

    await eventually(applied, timeout=30)


async def _interaction_id(infra, message_id: str) -> str:  # type: ignore[no-untyped-def]
    async def stored() -> str | None:
        return await fetchval(infra, "interactions",
                              "SELECT id::text FROM interactions WHERE message_id = $1",
                              message_id)  # fmt: skip

    return await eventually(stored, timeout=30)
