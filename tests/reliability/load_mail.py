"""The email channel: inbound mail to support's SMTP port, and campaign sends to a segment."""

from __future__ import annotations

import asyncio
import smtplib
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

from tests.reliability import client
from tests.reliability.context import RunContext

GIVE_UP_S = 90.0


class InboundMailLoad:
    """One new support mail at a time; re-delivered unchanged (same Message-ID) when the
    server is away or answers 4xx, as a mail transfer agent would."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.count = 0

    async def run(self) -> None:
        while await self.ctx.pause(0.5, 1.5):
            await self.deliver()

    async def deliver(self) -> None:
        self.count += 1
        sender = f"mail-{self.ctx.seed}-{self.count}@senders.chaos.example"
        mail = EmailMessage(policy=policy.SMTP)
        mail["From"], mail["To"] = sender, "support@ecrm.localhost"
        mail["Subject"] = f"Chaos question {self.count}"
        mail["Message-ID"] = make_msgid(domain="senders.chaos.example")
        mail.set_content(f"Hello, this is question {self.count}.\n")
        ledger = self.ctx.ledger
        ledger.mails_attempted.add(mail["Message-ID"])
        if await asyncio.to_thread(self._deliver_with_retries, mail):
            ledger.mails[mail["Message-ID"]] = sender

    def _deliver_with_retries(self, mail: EmailMessage) -> bool:
        port = self.ctx.stack.settings.inbound_smtp_port
        deadline, delay = time.monotonic() + GIVE_UP_S, 0.2
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    smtp.send_message(mail)
                self.ctx.ledger.answers["mail 250"] += 1
                return True
            except smtplib.SMTPResponseException as exc:
                self.ctx.ledger.answers[f"mail {exc.smtp_code}"] += 1
                if exc.smtp_code >= 500:
                    return False
            except (OSError, smtplib.SMTPException) as exc:
                self.ctx.ledger.answers[f"mail {type(exc).__name__}"] += 1
            self.ctx.ledger.retries["mail"] += 1
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        self.ctx.ledger.gave_up["mail"] += 1
        return False


class CampaignLoad:
    """A segment of the run's customers, then campaigns sent to it during the load."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.segment_id: str | None = None

    async def create_segment(self) -> str | None:
        if self.segment_id is None:
            body = {"name": f"{self.ctx.tag} customers", "rule": {"tag": self.ctx.tag}}
            response, _ = await client.send(
                self.ctx.client, self.ctx.ledger, "campaigns", "POST",
                f"{self.ctx.url}/api/v1/segments", json=body, headers=self.ctx.admin,
            )  # fmt: skip
            if response is not None and response.status_code == 201:
                self.segment_id = response.json()["id"]
                self.ctx.ledger.segments.append(self.segment_id)
        return self.segment_id

    async def send_one(self) -> str | None:
        """Create a campaign (found again by name when the create's answer was lost) and send
        it; returns its id once the send was accepted."""
        segment = await self.create_segment()
        if segment is None:
            return None
        name = f"{self.ctx.tag} campaign {len(self.ctx.ledger.campaigns) + 1}"
        campaign_id = await self._create(name, segment)
        if campaign_id is None:
            return None
        response, attempts = await client.send(
            self.ctx.client, self.ctx.ledger, "campaigns", "POST",
            f"{self.ctx.url}/api/v1/campaigns/{campaign_id}/send", headers=self.ctx.admin,
        )  # fmt: skip
        if response is None or not (
            response.status_code == 202 or (response.status_code == 409 and attempts > 1)
        ):
            return None
        self.ctx.ledger.campaigns.append(campaign_id)
        return campaign_id

    async def _create(self, name: str, segment: str) -> str | None:
        body = {
            "name": name,
            "segment_id": segment,
            "subject": "News for {{ first_name }}",
            "html": "<p>Hello {{ first_name }}, <a href='https://example.org/x'>see</a></p>",
        }
        response, attempts = await client.send(
            self.ctx.client, self.ctx.ledger, "campaigns", "POST",
            f"{self.ctx.url}/api/v1/campaigns", json=body, headers=self.ctx.admin,
        )  # fmt: skip
        if response is not None and response.status_code == 201 and attempts == 1:
            return response.json()["id"]
        return await self._find(name) if response is not None else None

    async def _find(self, name: str) -> str | None:
        response, _ = await client.send(
            self.ctx.client, self.ctx.ledger, "campaigns", "GET",
            f"{self.ctx.url}/api/v1/campaigns", params={"limit": 500}, headers=self.ctx.admin,
        )  # fmt: skip
        items = response.json().get("items", []) if response is not None else []
        found = [c["id"] for c in items if c["name"] == name]
        return found[0] if found else None
