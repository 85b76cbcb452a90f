"""The store channel: orders, idempotency, conflicts, OrderPlaced, resolution through contacts."""

from __future__ import annotations

from shared.events.interactions import OrderPlaced
from tests.services.interactions.conftest import unique
from tests.support.events import eventually, read_topic, wait_for_events


def an_order(**overrides) -> dict:
    order = {
        "order_id": unique("ord"),
        "store_id": unique("store"),
        "channel": "store",
        "currency": "eur",
        "placed_at": "2025-03-01T10:00:00+01:00",
        "lines": [
            {"sku": "TEA-1", "name": "Green tea", "quantity": 2, "unit_price": 4.5},
            {"sku": "CUP-2", "quantity": 1, "unit_price": 11},
        ],
        "subtotal": 20,
        "tax": 2,
        "discount": 1,
        "total": 21,
    }
    return order | overrides


async def test_an_order_is_placed_once_and_a_repeat_returns_it(infra, interactions, http, auth):
    order = an_order(customer_id="0190c0de-0000-7000-8000-000000000001")
    first = await http.post(f"{interactions}/api/v1/orders", json=order, headers=auth)
    assert first.status_code == 201, first.text
    placed = first.json()
    assert placed["currency"] == "EUR" and placed["total"] == 21.0
    again = await http.post(f"{interactions}/api/v1/orders", json=order, headers=auth)
    assert again.status_code == 200 and again.json()["id"] == placed["id"]

    got = await http.get(f"{interactions}/api/v1/orders/{placed['id']}", headers=auth)
    assert got.status_code == 200 and got.json()["order_id"] == order["order_id"]

    await wait_for_events(
        infra.bootstrap, OrderPlaced.topic(), lambda e: e.data.get("order_id") == order["order_id"]
    )
    emitted = [
        e
        for _, e in await read_topic(infra.bootstrap, OrderPlaced.topic())
        if e and e.data.get("order_id") == order["order_id"]
    ]
    assert len(emitted) == 1
    assert emitted[0].key == order["customer_id"]


async def test_a_repeat_with_different_content_is_a_conflict(interactions, http, auth):
    order = an_order(email="a@example.com")
    assert (
        await http.post(f"{interactions}/api/v1/orders", json=order, headers=auth)
    ).status_code == 201
    changed = order | {"total": 22, "tax": 3}
    response = await http.post(f"{interactions}/api/v1/orders", json=changed, headers=auth)
    assert response.status_code == 409 and response.json()["field"] == "order_id"


async def test_bad_orders_name_the_field(interactions, http, auth):
    cases = [
        (an_order(), "customer_id"),  # nobody named
        (an_order(email="nope"), "email"),
        (an_order(email="a@example.com", total=99), "total"),
        (an_order(email="a@example.com", subtotal=5), "subtotal"),
        (an_order(email="a@example.com", channel="phone"), "channel"),
        (an_order(email="a@example.com", lines=[]), "lines"),
        (an_order(email="a@example.com", placed_at="2025-03-01T10:00:00"), "placed_at"),
        (an_order(email="a@example.com", coupon="X"), "coupon"),
        (an_order(customer_id="not-a-uuid"), "customer_id"),
    ]
    for body, field in cases:
        response = await http.post(f"{interactions}/api/v1/orders", json=body, headers=auth)
        assert response.status_code == 422, (field, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, (field, response.json())


async def test_scopes_are_checked(interactions, http, infra):
    read_only = {"Authorization": f"Bearer {infra.token('interactions:read')}"}
    response = await http.post(f"{interactions}/api/v1/orders", json=an_order(), headers=read_only)
    assert response.status_code == 403
    assert (await http.get(f"{interactions}/api/v1/orders")).status_code == 401


async def test_an_order_by_email_is_attached_once_contacts_resolves_it(
    interactions, contacts, http, auth, email
):
    order = an_order(email=email.upper(), channel="online")
    placed = (await http.post(f"{interactions}/api/v1/orders", json=order, headers=auth)).json()
    assert placed["customer_id"] is None

    async def attached() -> str | None:
        got = (await http.get(f"{interactions}/api/v1/orders/{placed['id']}", headers=auth)).json()
        return got["customer_id"]

    customer = await eventually(attached, timeout=30)
    found = (
        await http.get(f"{contacts}/api/v1/customers", params={"email": email}, headers=auth)
    ).json()["items"]
    assert found[0]["id"] == customer
    listed = await http.get(
        f"{interactions}/api/v1/orders", params={"customer_id": customer}, headers=auth
    )
    assert [o["id"] for o in listed.json()["items"]] == [placed["id"]]
