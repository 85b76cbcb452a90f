"""Each channel through the gateway into the one timeline: an order by email (store channel),
a ticket by inbound mail (support), a deal won in sales (a DealWon CloudEvent keyed by the
customer)."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from shared.events.interactions import OrderPlaced
from shared.events.sales import DealWon
from tests.support.events import eventually, wait_for_events


@pytest.fixture
async def api(gateway: str, admin: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=15) as client:
        yield client


@pytest.fixture
def email() -> str:
    return f"channels.{uuid.uuid4().hex[:12]}@example.com"


def bootstrap(stack: Any) -> str:
    return f"127.0.0.1:{stack.settings.embedded_kafka_port}"


async def new_customer(api: httpx.AsyncClient, email: str) -> str:
    created = await api.post("/api/v1/customers", json={"email": email, "first_name": "Kim"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def customer_by_email(api: httpx.AsyncClient, email: str) -> str:
    async def found() -> str | None:
        items = (await api.get("/api/v1/customers", params={"email": email})).json()["items"]
        return items[0]["id"] if items else None

    return await eventually(found, timeout=30)


async def timeline_entry(
    api: httpx.AsyncClient, customer: str, type_: str, key: str, value: str
) -> dict[str, Any]:
    """The customer's timeline entry of this type whose data[key] is value (waits for it)."""

    async def entry() -> dict[str, Any] | None:
        response = await api.get(
            f"/api/v1/customers/{customer}/timeline", params={"type": type_, "limit": 500}
        )
        assert response.status_code == 200, response.text
        return next((i for i in response.json()["items"] if i["data"].get(key) == value), None)

    return await eventually(entry, timeout=30)


async def test_an_order_by_email_reaches_the_customers_timeline(stack, api, email):
    order_id = f"E2E-{uuid.uuid4().hex[:10]}"
    body = {
        "order_id": order_id,
        "store_id": "store-e2e",
        "channel": "store",
        "email": email,
        "currency": "EUR",
        "total": "30.00",
        "placed_at": datetime.now(UTC).isoformat(),
        "lines": [{"sku": "SKU-MUG", "name": "Mug", "quantity": 2, "unit_price": "15.00"}],
    }
    placed = await api.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    found = await wait_for_events(
        bootstrap(stack), OrderPlaced.topic(), lambda e: e.data.get("order_id") == order_id
    )
    assert found[0][1].name == "OrderPlaced" and found[0][1].data["email"] == email

    customer = await customer_by_email(api, email)  # contacts created it from the order
    entry = await timeline_entry(api, customer, "OrderPlaced", "order_id", order_id)
    assert (entry["channel"], entry["data"]["total"]) == ("store", 30.0)
    again = await api.post("/api/v1/orders", json=body)
    assert again.status_code == 200  # the same order sent again is not a second order


def deliver(port: int, sender: str, subject: str, body: str) -> None:
    message = EmailMessage(policy=policy.SMTP)
    message["From"], message["To"] = sender, "support@ecrm.localhost"
    message["Subject"], message["Message-ID"] = subject, f"<{uuid.uuid4().hex}@customer.test>"
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as smtp:
        smtp.sendmail(sender, ["support@ecrm.localhost"], message.as_bytes())


async def test_a_ticket_by_inbound_mail_reaches_the_customers_timeline(stack, api, email):
    customer = await new_customer(api, email)
    subject = f"Broken zipper {uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(
        deliver, stack.settings.inbound_smtp_port, email, subject, "The zipper broke on day one."
    )
    tickets = (await api.get("/api/v1/tickets", params={"requester_email": email})).json()
    assert [t["subject"] for t in tickets["items"]] == [subject]  # committed before the 250
    ticket_id = tickets["items"][0]["id"]

    entry = await timeline_entry(api, customer, "TicketOpened", "ticket_id", ticket_id)
    assert (entry["channel"], entry["source"]) == ("support", "support")
    assert subject in entry["summary"]


async def test_a_won_deal_is_a_cloudevent_keyed_by_the_customer_and_on_the_timeline(
    stack, api, email
):
    customer = await new_customer(api, email)
    created = await api.post(
        "/api/v1/deals",
        json={
            "name": "E2E fleet renewal",
            "customer_id": customer,
            "amount": "4200.00",
            "currency": "EUR",
        },
    )
    assert created.status_code == 201, created.text
    deal = created.json()
    won = await api.patch(
        f"/api/v1/deals/{deal['id']}",
        json={"stage": "won"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert won.status_code == 200 and won.json()["stage"] == "won", won.text

    found = await wait_for_events(
        bootstrap(stack),
        DealWon.topic(),
        lambda e: e.name == "DealWon" and e.data["deal_id"] == deal["id"],
    )
    record, event = found[0]
    headers = dict(record.headers)
    assert DealWon.topic() == "ecrm.sales.deal"
    assert record.key.decode() == customer == event.subject
    assert headers["ce_type"] == b"ecrm.sales.DealWon.v1"
    assert headers["ce_specversion"] == b"1.0"
    assert (event.data["amount"], event.data["currency"]) == (4200.0, "EUR")

    entry = await timeline_entry(api, customer, "DealWon", "deal_id", deal["id"])
    assert entry["channel"] == "sales"
