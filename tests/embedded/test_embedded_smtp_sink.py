"""The development SMTP sink: mail sent with smtplib lands as whole .eml files."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from ecrm.embedded import smtp_sink
from ecrm.embedded.supervisor import Supervisor
from shared.settings import Settings


def send(port: int, subject: str, to: list[str]) -> None:
    message = EmailMessage()
    message["From"] = "Shop <news@shop.example>"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content("Hello Zoë,\nyour order has shipped.\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


async def test_a_sent_mail_is_stored_as_one_eml_file(
    tmp_path: Path, unused_port: Callable[[], int]
) -> None:
    port, mail_dir = unused_port(), tmp_path / "mail"
    server = await smtp_sink.serve("127.0.0.1", port, mail_dir)
    try:
        assert await smtp_sink.is_ready("127.0.0.1", port)
        to = ["ana@example.com", "bo@example.org"]
        await asyncio.to_thread(send, port, "Your order 1001", to)
        await asyncio.to_thread(send, port, "Your order 1002", to[:1])
    finally:
        server.close()
        await server.wait_closed()
    stored = smtp_sink.read_messages(mail_dir)
    assert [m["Subject"] for _, m in stored] == ["Your order 1001", "Your order 1002"]
    path, first = stored[0]
    assert first["X-MailFrom"] == "news@shop.example"
    assert first["X-RcptTo"] == "ana@example.com, bo@example.org"
    assert "Zoë" in first.get_content()
    assert path.suffix == ".eml" and len(path.stem.split("-", 1)[1]) == 32
    assert sorted(p.name for p in mail_dir.iterdir()) == sorted(p.name for p, _ in stored)


async def test_the_sink_runs_as_its_own_process(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    sup = Supervisor(settings.home / "run", settings.home / "logs")
    try:
        await sup.start(smtp_sink.sink_spec(settings))
        await asyncio.to_thread(
            send, settings.smtp_sink_port, "Ticket #7 updated", ["cy@example.net"]
        )
    finally:
        await sup.stop()
    stored = smtp_sink.read_messages(smtp_sink.mail_dir(settings))
    assert [(m["Subject"], m["X-RcptTo"]) for _, m in stored] == [
        ("Ticket #7 updated", "cy@example.net")
    ]
