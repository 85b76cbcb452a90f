"""The background sender: `ECRM_CAMPAIGNS_SMTP_CONNECTIONS` lanes, each with its own
connection to the relay, claim due message rows one at a time, check consent right before the
mail goes out, deliver it, and record the outcome. Together they start at most
`ECRM_CAMPAIGNS_SEND_RATE` mails a second."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import asyncpg
from jinja2.exceptions import TemplateError

from services.campaigns.config import CampaignSettings, public_base
from services.campaigns.rules.evaluate import matches
from services.campaigns.rules.parse import event_depths, inline
from services.campaigns.sending import mail
from services.campaigns.store import audience, membership, messages, privacy
from shared.logging import get_logger
from shared.privacy import email_hash, erased_among, is_erased
from shared.smtp import Outcome, SmtpRelay

log = get_logger(__name__)
_STATUS = {Outcome.SENT: "sent", Outcome.BOUNCE: "bounced"}
ERASED_ADDRESS = "the address belongs to an erased person"
IDLE_S = 0.5  # how often an idle sender looks for due messages


@dataclass(frozen=True)
class Ready:
    mail: EmailMessage
    email: str
    subject: str


class Pace:
    """Start times `1 / rate` apart, shared by the lanes: a lane takes the next free slot."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / max(rate, 0.01)
        self.next_slot = 0.0

    def take(self, now: float) -> float:
        """Seconds to wait for the slot taken at `now`."""
        slot = max(self.next_slot, now)
        self.next_slot = slot + self.interval
        return slot - now

    async def turn(self, stop: asyncio.Event) -> None:
        """Waits for the next slot, or until `stop` is set."""
        wait = self.take(time.monotonic())
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


class Sender:
    def __init__(self, runtime: Any, settings: CampaignSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.base = public_base(runtime.settings.gateway_port)
        self.pace = Pace(settings.campaigns_send_rate)
        self.busy = asyncio.Event()  # set while the last look found a message due

    async def run(self, stop: asyncio.Event) -> None:
        lanes = max(1, self.settings.campaigns_smtp_connections)
        await asyncio.gather(*(self._lane(stop, lead=n == 0) for n in range(lanes)))

    async def _lane(self, stop: asyncio.Event, lead: bool) -> None:
        """The lead lane looks for due messages while there are none; the others join in
        once it finds some, and rest again when they find none."""
        relay = SmtpRelay(self.runtime.settings.smtp, self.settings.campaigns_smtp_timeout)
        try:
            while not stop.is_set():
                if not lead and not self.busy.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.busy.wait(), IDLE_S)
                    continue
                await self.pace.turn(stop)
                if stop.is_set():
                    break
                try:
                    worked = await self.send_next(relay)
                except Exception as exc:  # database away, bug: log, wait, go on
                    log.warning("sender.error", error=repr(exc))
                    worked = False
                if worked:
                    self.busy.set()
                    continue
                self.busy.clear()
                if lead:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), IDLE_S)
        finally:
            await relay.close()

    async def send_next(self, relay: SmtpRelay) -> bool:
        """One message: False when nothing was due. No database connection is held while the
        relay works on the mail."""
        async with self.runtime.db.acquire() as conn, conn.transaction():
            row = await messages.claim_next(conn)
            if row is None:
                return False
            ready = await self._prepare(conn, row)
        if ready is None:
            return True
        result = await relay.deliver(ready.mail)
        async with self.runtime.db.acquire() as conn:
            await self._record(conn, row, ready, result.outcome, result.detail)
        return True

    async def _prepare(self, conn: asyncpg.Connection, row: Any) -> Ready | None:
        """Inside the claim: decide whether this mail may go out now; build it."""
        contact = await audience.fetch_row(conn, row["customer_id"])
        source = await messages.source_of(conn, row)
        if source is None:
            await messages.finish(conn, row["id"], "failed", "its campaign or journey is gone")
            return None
        if contact is None or not contact["known"]:
            await messages.retry_later(
                conn, row, "the customer is not known yet", self.settings.campaigns_max_attempts
            )
            return None
        reason = await self._refusal(conn, contact, source)
        if reason is not None:
            await messages.finish(conn, row["id"], "skipped", reason)
            if reason == ERASED_ADDRESS:  # the row must not keep the address either
                await privacy.forget_addresses(conn, [row["id"]])
            return None
        context = {**audience.template_fields(contact), "event": row["context"] or {}}
        links = mail.Links(self.base, self.runtime.signing_key, str(row["id"]))
        try:
            built, subject = mail.build(
                message_id=str(row["id"]),
                to=contact["email"],
                from_address=source["from_address"],
                subject_template=source["subject"],
                html_template=source["html"],
                context=context,
                links=links,
            )
        except (TemplateError, ValueError) as exc:
            await messages.finish(conn, row["id"], "failed", f"template: {exc}"[:500])
            return None
        return Ready(built, contact["email"], subject)

    async def _refusal(self, conn: asyncpg.Connection, contact: Any, source: Any) -> str | None:
        if not contact["live"]:
            return "the customer was deleted or merged"
        if not contact["email"]:
            return "the customer has no email address"
        if await erased_among(conn, [email_hash(contact["email"]), str(contact["customer_id"])]):
            return ERASED_ADDRESS
        if await messages.is_suppressed(conn, contact["email"]):
            return "the address is suppressed after a permanent bounce"
        consent = (contact["consent"] or {}).get("email")
        if source["transactional"] and consent == "unsubscribed":
            return "email consent is unsubscribed"
        if not source["transactional"] and consent != "subscribed":
            return f"email consent is {consent or 'not given'}"
        if source["condition"] is not None and not await _condition_holds(conn, contact, source):
            return "the journey's condition does not hold"
        return None

    async def _record(
        self, conn: asyncpg.Connection, row: Any, ready: Ready, outcome: Outcome, detail: str
    ) -> None:
        if outcome in (Outcome.SENT, Outcome.BOUNCE) and await is_erased(conn, row["customer_id"]):
            # erased while the mail was on its way: record the outcome, none of the person
            await messages.finish(conn, row["id"], _STATUS[outcome], "the customer was erased")
        elif outcome is Outcome.SENT:
            await messages.mark_sent(conn, row, ready.email, ready.subject)
        elif outcome is Outcome.BOUNCE:
            await messages.mark_bounced(conn, row, ready.email, detail)
        elif outcome is Outcome.RETRY:
            await messages.retry_later(conn, row, detail, self.settings.campaigns_max_attempts)
        else:
            await messages.finish(
                conn,
                row["id"],
                outcome.value if outcome is Outcome.UNKNOWN else "failed",
                detail[:500],
            )
        log.info("message.delivered", message_id=str(row["id"]), outcome=outcome.value)


async def _condition_holds(conn: asyncpg.Connection, contact: Any, source: Any) -> bool:
    rules = await membership.all_rules(conn)
    rule = inline(source["condition"], rules)
    profile = await audience.load_profile(conn, contact["customer_id"], event_depths(rule))
    return profile is not None and matches(rule, profile, datetime.now(UTC))
