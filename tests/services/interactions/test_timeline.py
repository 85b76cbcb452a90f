"""The unified timeline and metrics across web, store, contacts, support and campaigns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.events.campaigns import MessageSent, SegmentMembershipChanged
from shared.events.sales import LeadQualified
from shared.events.support import TicketOpened
from tests.services.interactions.conftest import unique
from tests.support.events import eventually, publish

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


async def new_customer(http, contacts, auth, email) -> str:
    response = await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def web_visit(http, interactions, write_auth, email, start: datetime) -> str:
    """An anonymous page view, then an identify with the email: the visit is stitched."""
    anonymous_id = unique("anon")
    batch = {
        "batch": [
            {
                "type": "page",
                "anonymousId": anonymous_id,
                "name": "Home",
                "timestamp": start.isoformat(),
            },
            {
                "type": "identify",
                "anonymousId": anonymous_id,
                "traits": {"email": email},
                "timestamp": (start + timedelta(minutes=1)).isoformat(),
            },
        ]
    }
    response = await http.post(f"{interactions}/v1/batch", json=batch, headers=write_auth)
    assert response.json() == {"success": True}
    return anonymous_id


async def timeline(http, interactions, auth, customer, **params) -> dict:
    response = await http.get(
        f"{interactions}/api/v1/customers/{customer}/timeline", params=params, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for_types(http, interactions, auth, customer, types: set[str]) -> list[dict]:
    async def complete() -> list[dict] | None:
        items = (await timeline(http, interactions, auth, customer, limit=500))["items"]
        return items if types <= {i["type"] for i in items} else None

    return await eventually(complete, timeout=30)


async def test_one_timeline_across_every_channel(
    infra, interactions, contacts, http, auth, write_auth, email
):
    customer = await new_customer(http, contacts, auth, email)
    await web_visit(http, interactions, write_auth, email, T0)
    order = {
        "order_id": unique("ord"),
        "store_id": "berlin-1",
        "channel": "store",
        "customer_id": customer,
        "currency": "EUR",
        "total": 30,
        "lines": [{"sku": "A", "quantity": 3, "unit_price": 10}],
        "placed_at": (T0 + timedelta(hours=1)).isoformat(),
    }
    assert (
        await http.post(f"{interactions}/api/v1/orders", json=order, headers=auth)
    ).status_code == 201
    await publish(
        infra.bootstrap,
        TicketOpened(
            ticket_id=unique("t"),
            customer_id=customer,
            subject="Broken cup",
            channel="email",
            priority="normal",
            opened_at=T0 + timedelta(hours=2),
        ),
    )
    await publish(
        infra.bootstrap,
        MessageSent(
            message_id=unique("m"),
            customer_id=customer,
            subject="Spring sale",
            at=T0 + timedelta(hours=3),
        ),
    )
    consent = await http.put(
        f"{contacts}/api/v1/customers/{customer}/consent",
        headers=auth,
        json={"channel": "email", "state": "subscribed", "source": "form"},
    )
    assert consent.status_code == 200, consent.text

    items = await wait_for_types(
        http,
        interactions,
        auth,
        customer,
        {
            "page",
            "identify",
            "OrderPlaced",
            "TicketOpened",
            "MessageSent",
            "CustomerCreated",
            "ConsentChanged",
        },
    )
    stamps = [(i["occurred_at"], i["id"]) for i in items]
    assert stamps == sorted(stamps, reverse=True)
    channel_of = {i["type"]: i["channel"] for i in items}
    assert channel_of["page"] == "web" and channel_of["OrderPlaced"] == "store"
    assert channel_of["TicketOpened"] == "support" and channel_of["MessageSent"] == "email"
    assert channel_of["ConsentChanged"] == "contacts"
    summary_of = {i["type"]: i["summary"] for i in items}
    assert summary_of["TicketOpened"] == "Ticket opened: Broken cup"
    assert summary_of["MessageSent"] == "Email sent: Spring sale"

    support = await timeline(http, interactions, auth, customer, channel="support")
    assert [i["type"] for i in support["items"]] == ["TicketOpened"]
    window = await timeline(
        http,
        interactions,
        auth,
        customer,
        type="page,identify,OrderPlaced",
        since=T0.isoformat(),
        until=(T0 + timedelta(minutes=30)).isoformat(),
    )
    assert [i["type"] for i in window["items"]] == ["identify", "page"]

    walked, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        got = await timeline(http, interactions, auth, customer, **params)
        walked += [i["id"] for i in got["items"]]
        cursor = got["next_cursor"]
        if cursor is None:
            break
    assert walked == [i["id"] for i in items]

    seen: dict = {}

    async def figures() -> dict | None:
        got = (
            await http.get(f"{interactions}/api/v1/customers/{customer}/metrics", headers=auth)
        ).json()
        seen["figures"] = got
        return got if got.get("touches", {}).get("email") == 1 else None

    try:
        metrics = await eventually(figures, timeout=45)
    except AssertionError:  # what the figures and the timeline said, for the next reader
        now = await timeline(http, interactions, auth, customer)
        touches = [(i["type"], i["channel"], i["occurred_at"]) for i in now["items"]]
        raise AssertionError(f"figures {seen.get('figures')!r}; timeline {touches!r}") from None
    assert metrics["touches"] == {"web": 2, "store": 1, "support": 1, "email": 1}
    assert metrics["orders_count"] == 1 and metrics["total_spent"] == 30.0
    assert metrics["first_seen"].startswith("2025-05-01T12:00:00")


async def test_bad_timeline_queries_are_refused(interactions, http, auth, infra):
    some = str(uuid.uuid4())
    assert (await http.get(f"{interactions}/api/v1/customers/{some}/timeline")).status_code == 401
    no_scope = {"Authorization": f"Bearer {infra.token('contacts:read')}"}
    assert (
        await http.get(f"{interactions}/api/v1/customers/{some}/timeline", headers=no_scope)
    ).status_code == 403
    for params, field in (
        ({"limit": 501}, "limit"),
        ({"cursor": "zz"}, "cursor"),
        ({"since": "yesterday"}, "since"),
    ):
        response = await http.get(
            f"{interactions}/api/v1/customers/{some}/timeline", params=params, headers=auth
        )
        assert response.status_code == 422 and field in response.json()["detail"], response.text
    assert (
        await http.get(f"{interactions}/api/v1/customers/nope/timeline", headers=auth)
    ).status_code == 404


async def test_a_merge_folds_the_merged_timeline_into_the_survivor(
    infra, interactions, contacts, http, auth, write_auth
):
    emails = [f"{unique('m')}@example.com" for _ in range(2)]
    survivor, merged = [await new_customer(http, contacts, auth, e) for e in emails]
    await web_visit(http, interactions, write_auth, emails[1], T0)
    await publish(
        infra.bootstrap,
        TicketOpened(
            ticket_id=unique("t"),
            customer_id=survivor,
            subject="Hello",
            channel="web",
            priority="low",
            opened_at=T0,
        ),
    )
    await wait_for_types(http, interactions, auth, merged, {"page", "identify"})
    await wait_for_types(http, interactions, auth, survivor, {"TicketOpened"})

    response = await http.post(
        f"{contacts}/api/v1/customers/{survivor}/merge", json={"merged_id": merged}, headers=auth
    )
    assert response.status_code == 200, response.text

    items = await wait_for_types(
        http, interactions, auth, survivor, {"page", "identify", "TicketOpened", "CustomersMerged"}
    )
    assert sum(i["type"] == "CustomerCreated" for i in items) == 2
    via_merged = await timeline(http, interactions, auth, merged)
    assert via_merged["customer_id"] == survivor

    async def folded() -> dict | None:
        got = (
            await http.get(f"{interactions}/api/v1/customers/{survivor}/metrics", headers=auth)
        ).json()
        return got if got.get("touches") == {"web": 2, "support": 1} else None

    await eventually(folded, timeout=20)


async def test_a_deleted_customer_loses_the_timeline(
    interactions, contacts, http, auth, write_auth, email
):
    customer = await new_customer(http, contacts, auth, email)
    await web_visit(http, interactions, write_auth, email, T0)
    await wait_for_types(http, interactions, auth, customer, {"page"})
    assert (
        await http.delete(f"{contacts}/api/v1/customers/{customer}", headers=auth)
    ).status_code == 204

    async def gone() -> bool:
        response = await http.get(
            f"{interactions}/api/v1/customers/{customer}/timeline", headers=auth
        )
        return response.status_code == 404

    await eventually(gone, timeout=20)


async def test_a_known_visitor_s_touch_is_on_the_timeline_when_the_call_is_answered(
    interactions, contacts, http, auth, write_auth, email
):
    customer = await new_customer(http, contacts, auth, email)
    anonymous_id = await web_visit(http, interactions, write_auth, email, T0)
    await wait_for_types(http, interactions, auth, customer, {"page", "identify"})

    for n in range(3):  # no waiting: the entry is written in the call's own transaction
        call = {
            "anonymousId": anonymous_id,
            "event": f"Read chapter {n}",
            "timestamp": T0.isoformat(),
        }
        response = await http.post(f"{interactions}/v1/track", json=call, headers=write_auth)
        assert response.json() == {"success": True}
        items = (await timeline(http, interactions, auth, customer, type="track"))["items"]
        assert f"Read chapter {n}" in {i["summary"] for i in items}

    async def counted() -> dict | None:  # the figures follow through the consumer
        got = (
            await http.get(f"{interactions}/api/v1/customers/{customer}/metrics", headers=auth)
        ).json()
        return got if got.get("touches", {}).get("web") == 5 else None

    assert (await eventually(counted, timeout=20))["last_seen"].startswith("2025-05-01")


async def test_record_edits_and_derived_events_are_no_touch(
    infra, contacts, interactions, http, auth, email, db
):
    """Creating a customer, a segment entered, a lead qualified: on the timeline, but no touch.
    No figure is recomputed or published for them; the customer reads as all zero."""
    customer = await new_customer(http, contacts, auth, email)
    now = datetime.now(UTC)
    await publish(
        infra.bootstrap,
        SegmentMembershipChanged(
            segment_id=str(uuid.uuid4()), customer_id=customer, change="entered", at=now
        ),
    )
    await publish(
        infra.bootstrap, LeadQualified(customer_id=customer, score=80, threshold=50, at=now)
    )
    await wait_for_types(
        http,
        interactions,
        auth,
        customer,
        {"CustomerCreated", "SegmentMembershipChanged", "LeadQualified"},
    )
    response = await http.get(f"{interactions}/api/v1/customers/{customer}/metrics", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "customer_id": customer, "first_seen": None, "last_seen": None, "touches": {},
        "orders_count": 0, "total_spent": 0.0, "last_order_at": None,
    }  # fmt: skip
    published = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE ce_type LIKE '%CustomerMetricsChanged%' AND key = $1",
        customer,
    )
    assert published == 0
