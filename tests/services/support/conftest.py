from __future__ import annotations

import asyncio
import smtplib
import threading
import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from ecrm.ports import free_port
from tests.support.events import eventually
from tests.support.infra import Infra


class Sink:
    """A real SMTP server standing in for the outbound relay; keeps what it receives. A mail to
    an address in `held` is answered only once its event is set (a relay slow to accept it)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.peers: list[tuple[str, int]] = []  # the connection each message came over
        self.held: dict[str, threading.Event] = {}

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        for address in envelope.rcpt_tos:
            if address in self.held:
                await asyncio.get_running_loop().run_in_executor(None, self.held[address].wait, 30)
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        self.peers.append(session.peer)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def peers_of(self, address: str) -> list[tuple[str, int]]:
        return [
            p for m, p in zip(self.messages, self.peers, strict=True) if address in str(m["To"])
        ]


@pytest.fixture(scope="session")
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def mail_sink(sink: tuple[Sink, int]) -> Sink:
    return sink[0]


@pytest.fixture(scope="session")
def inbound_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
async def contacts(infra: Infra) -> str:
    return await infra.service("contacts")


@pytest.fixture(scope="session")
async def support(infra: Infra, contacts: str, sink: tuple[Sink, int], inbound_port: int) -> str:
    return await infra.service(
        "support",
        ECRM_INBOUND_SMTP_PORT=str(inbound_port),
        ECRM_SMTP_URL=f"smtp://127.0.0.1:{sink[1]}",
        ECRM_SUPPORT_SLA_TICK_SECONDS="0.3",
        ECRM_SUPPORT_MAX_MAIL_BYTES="200000",
        ECRM_SUPPORT_MAX_ATTACHMENT_BYTES="50000",
        ECRM_SUPPORT_MAIL_FROM="help@support.test",
    )


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def email() -> str:
    return f"grace.{uuid.uuid4().hex[:12]}@example.com"


def send_mail(
    port: int, message: EmailMessage | bytes, sender: str, rcpt: str = "help@support.test"
) -> dict:
    """Deliver through the real inbound server; returns smtplib's refused-recipient dict."""
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as client:
        data = message if isinstance(message, bytes) else message.as_bytes(policy=policy.SMTP)
        return client.sendmail(sender, [rcpt], data)


def mail(
    sender: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    in_reply_to: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "help@support.test"
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message


async def query(infra: Infra, sql: str, *args):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(infra.dsn("support"))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def tickets_of(http, support: str, auth: dict, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = await http.get(
        f"{support}/api/v1/tickets", params={"requester_email": email}, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def one_ticket(http, support: str, auth: dict, email: str) -> dict:  # type: ignore[no-untyped-def]
    async def found() -> list[dict]:
        return await tickets_of(http, support, auth, email)

    items = await eventually(found, timeout=15)
    assert len(items) == 1
    return items[0]


async def in_thread(fn, *args):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(fn, *args)
