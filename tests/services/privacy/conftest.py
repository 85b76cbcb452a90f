"""The privacy lifecycle across every service that answers privacy requests, as real processes;
campaigns mails through an in-memory SMTP sink."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from ecrm.embedded.postgres import bin_path
from ecrm.ports import free_port
from ecrm.topology import service_port
from tests.services.campaigns.conftest import Sink
from tests.support.events import eventually
from tests.support.infra import WRITE_KEY, Infra

SERVICES = ("contacts", "interactions", "support", "sales", "campaigns", "analytics")
SUPPORT_ADDRESS = "help@support.test"


@dataclass
class Stack:
    infra: Infra
    urls: dict[str, str]
    inbound_port: int

    def __getattr__(self, name: str) -> str:
        if name in SERVICES:
            return self.urls[name]
        raise AttributeError(name)


@pytest.fixture(scope="session")
def campaign_sink() -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
async def stack(infra: Infra, campaign_sink: Sink) -> Stack:
    inbound = free_port()
    urls = {"contacts": await infra.service("contacts")}
    urls["support"] = await infra.service(
        "support",
        ECRM_INBOUND_SMTP_PORT=str(inbound),
        ECRM_SUPPORT_MAIL_FROM=SUPPORT_ADDRESS,
        ECRM_SUPPORT_SLA_TICK_SECONDS="5",
    )
    for name in ("interactions", "sales", "analytics"):
        urls[name] = await infra.service(name)
    urls["campaigns"] = await infra.service(
        "campaigns",
        ECRM_SMTP_URL=f"smtp://127.0.0.1:{campaign_sink.port}",
        ECRM_PUBLIC_URL=f"http://127.0.0.1:{service_port(infra.settings(), 'campaigns')}",
        ECRM_CAMPAIGNS_SEND_RATE="10",
        ECRM_CAMPAIGNS_SWEEP_INTERVAL="2",
    )
    return Stack(infra, urls, inbound)


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


WRITE_AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def tag(label: str) -> str:
    return f"{label}{uuid.uuid4().hex[:10]}"


@dataclass
class Person:
    """Everything identifying one test person; `values()` must never survive an erasure."""

    email: str = field(default_factory=lambda: f"{tag('zelda.')}@example.com")
    first_name: str = field(default_factory=lambda: tag("Zelda"))
    last_name: str = field(default_factory=lambda: tag("Quibble"))
    phone: str = field(default_factory=lambda: "+4930" + str(uuid.uuid4().int)[:8])
    anonymous_id: str = field(default_factory=lambda: tag("anon-"))
    loyalty_id: str = field(default_factory=lambda: tag("loyal-"))
    ticket_subject: str = field(default_factory=lambda: tag("My broken teapot "))
    ticket_body: str = field(default_factory=lambda: tag("I live at Rosenweg 7, please call "))
    deal_name: str = field(default_factory=lambda: tag("Renewal for Zelda "))
    track_name: str = field(default_factory=lambda: tag("Demo Requested "))
    id: str = ""

    def values(self) -> dict[str, str]:
        return {
            "email": self.email, "first_name": self.first_name, "last_name": self.last_name,
            "phone": self.phone, "anonymous_id": self.anonymous_id,
            "loyalty_id": self.loyalty_id, "ticket_subject": self.ticket_subject,
            "ticket_body": self.ticket_body, "deal_name": self.deal_name,
        }  # fmt: skip


async def create_customer(http, stack: Stack, auth: dict, person: Person) -> str:  # type: ignore[no-untyped-def]
    body = {"email": person.email, "first_name": person.first_name,
            "last_name": person.last_name, "phone": person.phone,
            "consent": {"email": "subscribed"}}  # fmt: skip
    response = await http.post(f"{stack.contacts}/api/v1/customers", json=body, headers=auth)
    assert response.status_code == 201, response.text
    person.id = response.json()["id"]
    return person.id


async def in_every_channel(http, stack: Stack, auth: dict, person: Person) -> None:  # type: ignore[no-untyped-def]
    """A customer with a web visit, a scored track event, an order, a ticket by mail, a deal."""
    await create_customer(http, stack, auth, person)
    rule = {"event": person.track_name, "points": 7}
    response = await http.post(f"{stack.sales}/api/v1/scoring/rules", json=rule, headers=auth)
    assert response.status_code == 201, response.text
    await web_visit(http, stack, person.anonymous_id, person.email, person.track_name)
    order = {
        "order_id": tag("ord-"), "store_id": "berlin-1", "channel": "store",
        "email": person.email, "loyalty_id": person.loyalty_id, "currency": "EUR", "total": 30,
        "lines": [{"sku": "TEA", "quantity": 3, "unit_price": 10}],
        "placed_at": (T0 + timedelta(hours=1)).isoformat(),
    }  # fmt: skip
    response = await http.post(f"{stack.interactions}/api/v1/orders", json=order, headers=auth)
    assert response.status_code == 201, response.text
    await asyncio.to_thread(send_mail, stack.inbound_port, person)
    deal = {"name": person.deal_name, "customer_id": person.id, "amount": 500, "currency": "eur"}
    response = await http.post(f"{stack.sales}/api/v1/deals", json=deal, headers=auth)
    assert response.status_code == 201, response.text
    await everywhere(stack.infra, person)


async def web_visit(http, stack: Stack, anonymous_id: str, email: str, track: str) -> None:  # type: ignore[no-untyped-def]
    """A page view and an identify; once stitched, a track event (scored by sales)."""
    await track_calls(http, stack, [
        {"type": "page", "anonymousId": anonymous_id, "name": "Home",
         "timestamp": T0.isoformat()},
        {"type": "identify", "anonymousId": anonymous_id, "traits": {"email": email},
         "timestamp": (T0 + timedelta(minutes=1)).isoformat()},
    ])  # fmt: skip

    async def linked() -> bool:
        return await fetchval(
            stack.infra, "interactions",
            "SELECT count(*) > 0 FROM identity_links WHERE kind = 'anonymous_id' AND value = $1",
            anonymous_id,
        )  # fmt: skip

    await eventually(linked, timeout=30)
    await track_calls(http, stack, [
        {"type": "track", "anonymousId": anonymous_id, "event": track,
         "timestamp": (T0 + timedelta(minutes=2)).isoformat()},
    ])  # fmt: skip


async def track_calls(http, stack: Stack, calls: list[dict]) -> None:  # type: ignore[no-untyped-def]
    response = await http.post(
        f"{stack.interactions}/v1/batch", json={"batch": calls}, headers=WRITE_AUTH
    )
    assert response.json() == {"success": True}, response.text


def send_mail(port: int, person: Person) -> None:
    message = EmailMessage()
    message["From"] = f"{person.first_name} {person.last_name} <{person.email}>"
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = person.ticket_subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@customer.test>"
    message.set_content(f"{person.ticket_body}\n{person.first_name} {person.phone}")
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as client:
        client.send_message(message)


async def fetchval(infra: Infra, service: str, sql: str, *args):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(infra.dsn(service))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def everywhere(infra: Infra, person: Person) -> None:
    """Wait until every service holds the person under their customer id."""
    cid = uuid.UUID(person.id)
    checks = {
        "interactions": ("SELECT count(DISTINCT type) >= 3 AND bool_or(type = 'OrderPlaced')"
                         " FROM timeline WHERE customer_id = $1"),
        "support": "SELECT count(*) > 0 FROM tickets WHERE customer_id = $1",
        "sales": "SELECT count(*) > 0 FROM score_history WHERE customer_id = $1",
    }  # fmt: skip

    async def ready() -> bool:
        results = [await fetchval(infra, s, sql, cid) for s, sql in checks.items()]
        return all(results)

    await eventually(ready, timeout=45)


async def wait_completed(
    http, stack: Stack, auth: dict, request_id: str, timeout: float = 45
) -> dict:  # type: ignore[no-untyped-def]
    async def completed() -> dict | None:
        response = await http.get(
            f"{stack.contacts}/api/v1/privacy/requests/{request_id}", headers=auth
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return body if body["status"] == "completed" else None

    return await eventually(completed, timeout=timeout)


def dump(infra: Infra, service: str) -> str:
    """Every row of the service's database, as pg_dump writes it."""
    result = subprocess.run(
        [str(bin_path("pg_dump")), "--data-only", "--no-owner", infra.dsn(service)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return result.stdout


def leaks(infra: Infra, person: Person) -> dict[str, list[str]]:
    """Which of the person's values each service's database still holds in plain form."""
    found: dict[str, list[str]] = {}
    for service in SERVICES:
        text = dump(infra, service).lower()
        hits = [name for name, value in person.values().items() if value.lower() in text]
        if hits:
            found[service] = hits
    return found
