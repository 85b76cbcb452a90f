"""The inbound SMTP server: every mail is committed (ticket, thread or quarantine) before 250.

It runs on the service's own event loop, so it shares the pool. Every message is handled inside
its own try: whatever one mail does, the server keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.support.config import SupportSettings
from services.support.mail.parse import ParsedMail, Quarantine, Refuse, parse
from services.support.store import inbound
from shared.logging import get_logger

log = get_logger(__name__)
HOSTNAME = "ecrm-support"
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every line at debug


class TicketMailHandler:
    """aiosmtpd handler: DATA -> parse -> ticket (or refusal, or quarantine)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], settings: SupportSettings) -> None:
        self.pool = pool
        self.settings = settings

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            return await self._receive(raw, envelope)
        except Exception as exc:  # one bad mail never takes the server down
            log.exception("mail.inbound_failed", error=repr(exc), mail_from=envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"

    async def _receive(self, raw: bytes, envelope: Envelope) -> str:
        if len(raw) > self.settings.max_mail_bytes:
            return f"552 5.3.4 The mail is larger than {self.settings.max_mail_bytes} bytes"
        try:
            decision = parse(raw, envelope.mail_from, self.settings.max_attachment_bytes)
        except Exception as exc:  # the parser itself gave up: keep the bytes and the reason
            decision = Quarantine(f"unparseable mail: {exc!r}"[:500])
        if isinstance(decision, Refuse):
            log.info("mail.refused", reason=decision.text, mail_from=envelope.mail_from)
            return decision.reply
        async with self.pool().acquire() as conn:
            if isinstance(decision, Quarantine):
                await inbound.quarantine(
                    conn, envelope.mail_from, list(envelope.rcpt_tos), decision.reason, raw
                )
                log.warning("mail.quarantined", reason=decision.reason)
                return "250 2.0.0 Accepted and held for review"
            return await self._apply(conn, decision)

    async def _apply(self, conn: asyncpg.Connection, mail: ParsedMail) -> str:
        received = await inbound.ingest(conn, mail, self.settings.mail_domain)
        log.info(
            "mail.received",
            ticket=str(received.ticket_id),
            opened=received.opened,
            duplicate=received.duplicate,
        )
        return f"250 2.0.0 OK ticket #{received.ref}"


async def serve(
    pool: Callable[[], asyncpg.Pool],
    host: str,
    port: int,
    settings: SupportSettings,
    stop: asyncio.Event,
) -> None:
    """Listen until `stop` is set."""
    handler = TicketMailHandler(pool, settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname=HOSTNAME,
            data_size_limit=settings.max_mail_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=60,
        ),
        host=host,
        port=port,
        reuse_address=True,
    )
    log.info("mail.inbound_listening", host=host, port=port)
    try:
        await stop.wait()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
