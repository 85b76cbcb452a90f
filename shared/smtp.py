"""Delivering mail through one kept connection to the SMTP relay (each of campaigns' sender
lanes has one, support's sender one), and classifying what happened.

`SENT`: the relay accepted it. `RETRY`: refused temporarily, or never handed over (nothing was
sent). `BOUNCE`: the recipient was refused permanently (5xx on RCPT or DATA). `FAIL`: refused
for a reason that is not the recipient's (e.g. our sender address). `UNKNOWN`: the connection
broke after the mail was handed over, so it may or may not have been accepted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    BOUNCE = "bounce"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""


class SmtpRelay:
    """One reused connection to `smtp://[user:pass@]host:port` (`smtps://` for implicit TLS,
    `smtp+starttls://` to require STARTTLS)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.hostname = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.use_tls = parts.scheme == "smtps"
        self.start_tls = parts.scheme == "smtp+starttls"
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.noop()
                return self._client
            except aiosmtplib.SMTPException:
                await self.close()
        client = aiosmtplib.SMTP(
            hostname=self.hostname,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            username=self.username,
            password=self.password,
        )
        await client.connect()
        self._client = client
        return client

    async def close(self) -> None:
        if self._client is not None:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
            self._client = None

    async def deliver(self, message: EmailMessage) -> Result:
        try:
            client = await self._connection()
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            return Result(Outcome.RETRY, f"relay unreachable: {exc}")
        try:
            await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self.close()
            codes = [r.code for r in exc.recipients]
            kind = Outcome.BOUNCE if codes and min(codes) >= 500 else Outcome.RETRY
            return Result(kind, "; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPRecipientRefused) as exc:
            await self.close()
            return Result(
                Outcome.BOUNCE if exc.code >= 500 else Outcome.RETRY, f"{exc.code} {exc.message}"
            )
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            return Result(
                Outcome.FAIL if exc.code >= 500 else Outcome.RETRY, f"{exc.code} {exc.message}"
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            return Result(Outcome.UNKNOWN, f"connection lost while sending: {exc!r}")
        return Result(Outcome.SENT)
