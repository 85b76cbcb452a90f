"""A development SMTP sink: every mail it receives becomes one `.eml` file in a directory.

Files are named `<UTC timestamp>-<uuid>.eml` and written under a temporary name first, then
renamed, so a reader never sees half a message. The envelope is kept in `X-MailFrom` and
`X-RcptTo` headers in front of the message. Run alone with `python -m ecrm.embedded.smtp_sink`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from ecrm.embedded import PROJECT_ROOT
from ecrm.embedded.supervisor import ProcessSpec
from shared.settings import Settings, get_settings

HOSTNAME = "ecrm-smtp-sink"


def store_message(mail_dir: Path, mail_from: str, rcpt_tos: list[str], data: bytes) -> Path:
    """Write one message atomically and return its path."""
    mail_dir.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}.eml"
    envelope = f"X-MailFrom: {mail_from}\r\nX-RcptTo: {', '.join(rcpt_tos)}\r\n".encode()
    tmp = mail_dir / f".{name}.tmp"
    tmp.write_bytes(envelope + data)
    return tmp.replace(mail_dir / name)


def read_messages(mail_dir: Path) -> list[tuple[Path, EmailMessage]]:
    """Every stored mail, oldest first, parsed with the modern email policy."""
    parser = BytesParser(policy=policy.default)
    paths = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
    return [(path, parser.parsebytes(path.read_bytes())) for path in paths]


class MailDirHandler:
    """aiosmtpd handler storing each DATA into the mail directory."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        mail_dir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        await asyncio.to_thread(
            store_message, self.mail_dir, envelope.mail_from or "", list(envelope.rcpt_tos), data
        )
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, mail_dir: Path) -> asyncio.Server:
    """Listen on host:port in the running event loop; close the returned server to stop."""
    handler = MailDirHandler(mail_dir)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname=HOSTNAME, enable_SMTPUTF8=True), host, port
    )


async def is_ready(host: str, port: int) -> bool:
    """The sink answers with an SMTP 220 greeting."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        greeting = await reader.readline()
        writer.write(b"QUIT\r\n")
        await writer.drain()
        return greeting.startswith(b"220")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def mail_dir(settings: Settings) -> Path:
    return settings.home.resolve() / "mail"


def sink_spec(settings: Settings, env: Mapping[str, str] | None = None) -> ProcessSpec:
    port = settings.smtp_sink_port
    argv = [sys.executable, "-m", "ecrm.embedded.smtp_sink", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--dir", str(mail_dir(settings))]
    return ProcessSpec(
        name="smtp-sink",
        argv=argv,
        env=env,
        ready=lambda: is_ready("127.0.0.1", port),
        log_path=settings.home.resolve() / "logs" / "smtp-sink.log",
        cwd=PROJECT_ROOT,
        ready_timeout=30.0,
    )


async def _run(host: str, port: int, directory: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = await serve(host, port, directory)
    print(f"smtp sink on {host}:{port}, mail in {directory}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="development SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.smtp_sink_port)
    parser.add_argument("--dir", type=Path, default=mail_dir(settings))
    args = parser.parse_args(argv)
    asyncio.run(_run(args.host, args.port, args.dir))


if __name__ == "__main__":
    main()
