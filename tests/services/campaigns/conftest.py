"""Campaigns on real processes: contacts (the audience comes from its events), campaigns, and
an SMTP sink (aiosmtpd) that keeps every mail in memory and refuses `bounce-*` recipients."""

from __future__ import annotations

import email
import email.policy
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from ecrm.ports import free_port
from ecrm.topology import service_port
from tests.support.events import eventually
from tests.support.infra import Infra

SEND_RATE, SMTP_CONNECTIONS, LAUNCH_CHUNK = 10, 3, 4
BUILD_CHUNK = 25  # the session's audience is hundreds: most segments build past the request


@dataclass(frozen=True)
class Received:
    raw: bytes  # the mail as it came
    at: float  # time.monotonic() at its DATA
    peer: Any  # the sender's end of the connection it came over


@dataclass
class Sink:
    port: int
    mails: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)  # beside `mails`, in order

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.mails if address.lower() in (r.lower() for r in rcpts)]

    def received_by(self, address: str) -> list[Received]:
        return [
            received
            for (rcpts, _), received in zip(self.mails, self.received, strict=True)
            if address.lower() in (r.lower() for r in rcpts)
        ]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("bounce-"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.content, time.monotonic(), session.peer))
        self.mails.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
async def contacts(infra: Infra) -> str:
    return await infra.service("contacts")


@pytest.fixture(scope="session")
async def campaigns(infra: Infra, smtp_sink: Sink, contacts: str) -> str:
    own_url = f"http://127.0.0.1:{service_port(infra.settings(), 'campaigns')}"
    return await infra.service(
        "campaigns",
        ECRM_SMTP_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        ECRM_PUBLIC_URL=own_url,  # links in mails point straight at the service in tests
        ECRM_CAMPAIGNS_SEND_RATE=str(SEND_RATE),
        ECRM_CAMPAIGNS_SMTP_CONNECTIONS=str(SMTP_CONNECTIONS),
        ECRM_CAMPAIGNS_LAUNCH_CHUNK=str(LAUNCH_CHUNK),
        ECRM_CAMPAIGNS_BUILD_CHUNK=str(BUILD_CHUNK),
        ECRM_CAMPAIGNS_SWEEP_INTERVAL="2",
        ECRM_CAMPAIGNS_SMTP_TIMEOUT="5",
        ECRM_CAMPAIGNS_CLAIM_TIMEOUT="8",
    )


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def tag() -> str:
    """A tag unique to the test, so its segments hold only its own customers."""
    return f"t-{uuid.uuid4().hex[:10]}"


def address(prefix: str = "ada") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


async def new_customer(
    http: httpx.AsyncClient, contacts: str, auth: dict[str, str], **fields: Any
) -> dict[str, Any]:
    fields.setdefault("email", address())
    response = await http.post(f"{contacts}/api/v1/customers", json=fields, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def new_segment(
    http: httpx.AsyncClient, campaigns: str, auth: dict[str, str], rule: dict[str, Any]
) -> dict[str, Any]:
    """A new segment once its full build has ended."""
    response = await http.post(
        f"{campaigns}/api/v1/segments", json={"name": "s", "rule": rule}, headers=auth
    )
    assert response.status_code == 201, response.text
    return await built(http, campaigns, auth, response.json()["id"])


async def built(
    http: httpx.AsyncClient, campaigns: str, auth: dict[str, str], segment_id: str
) -> dict[str, Any]:
    """The segment once no build of it is running."""

    async def done() -> dict[str, Any] | None:
        response = await http.get(f"{campaigns}/api/v1/segments/{segment_id}", headers=auth)
        assert response.status_code == 200, response.text
        return response.json() if response.json()["status"] == "built" else None

    return await eventually(done, timeout=30)


async def members(
    http: httpx.AsyncClient, campaigns: str, auth: dict[str, str], segment_id: str
) -> set[str]:
    out: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        response = await http.get(
            f"{campaigns}/api/v1/segments/{segment_id}/members", params=params, headers=auth
        )
        assert response.status_code == 200, response.text
        body = response.json()
        out |= {m["customer_id"] for m in body["items"]}
        cursor = body["next_cursor"]
        if cursor is None:
            return out


async def projected(
    http: httpx.AsyncClient, campaigns: str, auth: dict[str, str], rule: dict[str, Any], n: int
) -> None:
    """Wait until the audience projection holds `n` customers matching `rule`."""

    async def count() -> bool:
        response = await http.post(
            f"{campaigns}/api/v1/segments/preview", json={"rule": rule}, headers=auth
        )
        assert response.status_code == 200, response.text
        return response.json()["count"] == n

    await eventually(count, timeout=30)


async def campaign_to_subscribers(
    http: httpx.AsyncClient,
    contacts: str,
    campaigns: str,
    auth: dict,
    tag: str,
    prefix: str,
    n: int,
    extra_members: int = 0,
) -> tuple[list[str], dict[str, Any]]:
    """`n` new customers subscribed to email (beside `extra_members` already tagged), a plain
    campaign to the tag, launched: their addresses and the launched campaign."""
    recipients = [address(f"{prefix}{i}") for i in range(n)]
    for to in recipients:
        await new_customer(
            http, contacts, auth, email=to, tags=[tag], consent={"email": "subscribed"}
        )
    await projected(http, campaigns, auth, {"tag": tag}, n + extra_members)
    segment = await new_segment(http, campaigns, auth, {"tag": tag})
    body = {"name": prefix, "segment_id": segment["id"], "subject": "Hi", "html": "<p>Hi</p>"}
    campaign = (await http.post(f"{campaigns}/api/v1/campaigns", json=body, headers=auth)).json()
    sent = await http.post(f"{campaigns}/api/v1/campaigns/{campaign['id']}/send", headers=auth)
    assert sent.status_code == 202 and sent.json()["status"] == "launching", sent.text
    return recipients, await launched(http, campaigns, auth, campaign["id"])


async def launched(
    http: httpx.AsyncClient, campaigns: str, auth: dict, campaign_id: str
) -> dict[str, Any]:
    """The campaign once its launch has found every recipient."""

    async def done() -> dict[str, Any] | None:
        response = await http.get(f"{campaigns}/api/v1/campaigns/{campaign_id}", headers=auth)
        campaign = response.json()
        return campaign if campaign["status"] == "launched" else None

    return await eventually(done, timeout=30)


async def sink_holds(sink: Sink, addresses: list[str], timeout: float = 30) -> None:
    await eventually(lambda: all(sink.to(a) for a in addresses), timeout=timeout)
