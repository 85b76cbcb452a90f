"""A campaign's sending, for `make profile MAILS=n`: `n` customers subscribed to email, a segment
of them and a campaign, made before the window; the window launches the campaign and lasts
until every message has an outcome. An event is one mail handed to the relay.

The relay is the stack's SMTP sink, or with `--relay-rtt-ms` one in the profile's own process
that answers each command of a mail (NOOP, MAIL, RCPT, DATA) after that delay, as a relay a
network away would."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller

from bench.creates import CUSTOMERS
from bench.ingest import wait_drained
from bench.orders import subscribed_customers
from ecrm.embedded.stack import EmbeddedStack

POLL_S = 0.2


class DistantRelay:
    """An SMTP relay `rtt` seconds away: each command of a mail is answered after `rtt`."""

    def __init__(self, rtt: float) -> None:
        self.rtt = rtt

    async def _later(self, answer: str) -> str:
        await asyncio.sleep(self.rtt)
        return answer

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        return await self._later("250 OK")

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        envelope.mail_from = address
        return await self._later("250 OK")

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        envelope.rcpt_tos.append(address)
        return await self._later("250 OK")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self._later("250 Message accepted for delivery")


def distant_relay(rtt_ms: float, port: int) -> Controller:
    controller = Controller(DistantRelay(rtt_ms / 1000), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


class CampaignSend:
    """`mails` subscribed customers, one campaign to all of them."""

    def __init__(self, mails: int) -> None:
        self.emails = [f"reader-{uuid.uuid4().hex[:8]}-{i}@example.com" for i in range(mails)]
        self.campaign_id = ""

    async def prepare(self, stack: EmbeddedStack) -> None:
        async with _session(stack) as session:
            await subscribed_customers(session, self.emails, "Reader")
            dsn, bootstrap = stack.settings.database_dsn("contacts"), stack.settings.kafka
            await wait_drained(dsn, bootstrap, 120, (CUSTOMERS,))
            rule = {"name": "readers", "rule": {"consent": "email"}}
            segment = await _built(session, await _post(session, "/api/v1/segments", rule))
            if segment["member_count"] != len(self.emails):
                raise RuntimeError(f"segment of {segment['member_count']}, not {len(self.emails)}")
            campaign = await _post(session, "/api/v1/campaigns", _campaign(segment["id"]))
        self.campaign_id = campaign["id"]

    async def __call__(self, stack: EmbeddedStack, seconds: float) -> tuple[int, dict[str, Any]]:
        async with _session(stack) as session:
            started = time.perf_counter()
            await _post(session, f"/api/v1/campaigns/{self.campaign_id}/send", None)
            stats = await self._until_done(session)
            elapsed = time.perf_counter() - started
        sent = stats["sent"]
        return sent, {
            "mails": len(self.emails),
            "sent": sent,
            "mails_per_s": round(sent / elapsed, 1),
            "seconds": round(elapsed, 2),
            "not_sent": {
                k: stats[k] for k in ("skipped", "failed", "unknown", "bounced") if stats.get(k)
            },
        }

    async def _until_done(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """The stats once the campaign is launched (every recipient found) and nothing is
        pending."""
        while True:
            async with session.get(f"/api/v1/campaigns/{self.campaign_id}") as response:
                launched = (await response.json())["status"] == "launched"
            async with session.get(f"/api/v1/campaigns/{self.campaign_id}/stats") as response:
                stats = await response.json()
            if launched and not stats["pending"]:
                return stats
            await asyncio.sleep(POLL_S)


async def _built(session: aiohttp.ClientSession, segment: dict[str, Any]) -> dict[str, Any]:
    """The segment once its full build has ended (past a chunk of customers, in the background)."""
    while segment["status"] == "building":
        await asyncio.sleep(POLL_S)
        async with session.get(f"/api/v1/segments/{segment['id']}") as response:
            segment = await response.json()
    return segment


def _session(stack: EmbeddedStack) -> aiohttp.ClientSession:
    auth = {"Authorization": f"Bearer {stack.admin_token}"}
    return aiohttp.ClientSession(base_url=stack.gateway_url, headers=auth)


def _campaign(segment_id: str) -> dict[str, Any]:
    html = (
        "<p>Hello {{ first_name }},</p><p>Our <a href='https://shop.example/new'>new season</a>"
        " is in.</p><p><a href='{{ unsubscribe_url }}'>Unsubscribe</a></p>"
    )
    return {
        "name": "profile",
        "segment_id": segment_id,
        "subject": "News for {{ first_name }}",
        "html": html,
    }


async def _post(session: aiohttp.ClientSession, path: str, body: Any) -> dict[str, Any]:
    async with session.post(path, json=body) as response:
        if response.status not in (201, 202):
            raise RuntimeError(f"{path}: {response.status} {await response.text()}")
        return await response.json()
