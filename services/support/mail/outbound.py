"""The sender: delivers queued mail to the relay (ECRM_SMTP_URL), at least once.

A batch is locked (SKIP LOCKED, so replicas share work), sent, and marked in the same
transaction. A crash between the relay's 250 and the commit re-sends the same mail with the
same Message-ID; nothing is lost. Failures back off exponentially, then the row is `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib
import asyncpg

from services.support.config import SupportSettings
from services.support.store import outgoing
from shared.logging import get_logger

log = get_logger(__name__)
BATCH = 20


def compose(mail: outgoing.Outgoing, settings: SupportSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((settings.mail_from_name, settings.mail_from))
    message["To"] = mail.to_addr
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.rfc_message_id
    message["Date"] = formatdate(localtime=False)
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = " ".join(mail.references)
    if mail.kind != "reply":  # written by the system, not an agent: no auto-replies to it
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


def relay_options(url: str, timeout: float) -> dict:
    parts = urlsplit(url)
    options: dict = {
        "hostname": parts.hostname or "127.0.0.1",
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "timeout": timeout,
        "use_tls": parts.scheme == "smtps",
        "start_tls": parts.scheme == "smtp+starttls",
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return options


def backoff_seconds(attempts: int) -> float:
    return float(min(2**attempts, 600))


async def send_due(pool: asyncpg.Pool, relay_url: str, settings: SupportSettings) -> int:
    """Deliver one batch of due mail; the number sent."""
    sent = 0
    async with pool.acquire() as conn, conn.transaction():
        for mail in await outgoing.claim_due(conn, BATCH):
            try:
                await aiosmtplib.send(
                    compose(mail, settings),
                    **relay_options(relay_url, settings.smtp_timeout_seconds),
                )
            except Exception as exc:
                give_up = mail.attempts + 1 >= settings.sender_max_attempts
                await outgoing.mark_failed(
                    conn, mail.id, repr(exc), backoff_seconds(mail.attempts), give_up
                )
                log.warning(
                    "mail.send_failed",
                    mail=str(mail.id),
                    error=repr(exc),
                    attempts=mail.attempts + 1,
                    gave_up=give_up,
                )
                continue
            await outgoing.mark_sent(conn, mail.id)
            sent += 1
    return sent


async def run_sender(
    pool: Callable[[], asyncpg.Pool],
    relay_url: str,
    settings: SupportSettings,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        sent = 0
        try:
            sent = await send_due(pool(), relay_url, settings)
        except Exception as exc:  # database away: try again on the next tick
            log.warning("mail.sender_error", error=repr(exc))
        if sent < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.sender_tick_seconds)
