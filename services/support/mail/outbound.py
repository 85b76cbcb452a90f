"""The sender: delivers queued mail to the relay (ECRM_SMTP_URL), at least once.

Each mail is locked (SKIP LOCKED, so replicas share work), sent, and marked in a transaction of
its own. A crash between the relay's 250 and the commit re-sends that one mail with the same
Message-ID; nothing is lost. (A batch of 20 in one transaction re-sent every mail of the batch
sent so far.) Failures back off exponentially, then the row is `failed`. The mails go over one
kept connection to the relay (`shared.smtp`), not a connection each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import asyncpg

from services.support.config import SupportSettings
from services.support.store import outgoing
from shared.logging import get_logger
from shared.smtp import Outcome, Result, SmtpRelay

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


def backoff_seconds(attempts: int) -> float:
    return float(min(2**attempts, 600))


async def send_due(pool: asyncpg.Pool, relay: SmtpRelay, settings: SupportSettings) -> int:
    """Deliver up to a batch of due mail, each locked, sent and marked in its own transaction;
    the number sent."""
    sent = 0
    for _ in range(BATCH):
        async with pool.acquire() as conn, conn.transaction():
            due = await outgoing.claim_due(conn, 1)
            if not due:
                break
            sent += await _deliver(conn, due[0], relay, settings)
    return sent


async def _deliver(
    conn: asyncpg.Connection, mail: outgoing.Outgoing, relay: SmtpRelay, settings: SupportSettings
) -> int:
    """One mail to the relay, and its outcome: 1 when it was sent. Whatever went wrong, the mail
    is tried again after a backoff (a mail the connection broke under may have arrived: the
    same Message-ID lets mail clients show it once)."""
    try:
        result = await relay.deliver(compose(mail, settings))
    except ValueError as exc:  # a header the email package refuses to write
        result = Result(Outcome.FAIL, f"cannot be written: {exc}")
    if result.outcome is Outcome.SENT:
        await outgoing.mark_sent(conn, mail.id)
        return 1
    give_up = mail.attempts + 1 >= settings.sender_max_attempts
    error = f"{result.outcome.value}: {result.detail}"
    await outgoing.mark_failed(conn, mail.id, error, backoff_seconds(mail.attempts), give_up)
    log.warning(
        "mail.send_failed",
        mail=str(mail.id),
        error=error,
        attempts=mail.attempts + 1,
        gave_up=give_up,
    )
    return 0


async def run_sender(
    pool: Callable[[], asyncpg.Pool],
    relay_url: str,
    settings: SupportSettings,
    stop: asyncio.Event,
) -> None:
    relay = SmtpRelay(relay_url, settings.smtp_timeout_seconds)
    try:
        while not stop.is_set():
            sent = 0
            try:
                sent = await send_due(pool(), relay, settings)
            except Exception as exc:  # database away: try again on the next tick
                log.warning("mail.sender_error", error=repr(exc))
            if sent < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.sender_tick_seconds)
    finally:
        await relay.close()
