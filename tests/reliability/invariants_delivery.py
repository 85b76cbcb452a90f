"""Invariants of delivery: campaign mail at most once in the SMTP sink (and every mail marked
sent is there), outboxes drained, dead-letter topics holding only the poison sent on purpose."""

from __future__ import annotations

from collections import Counter
from email import policy
from email.parser import BytesParser
from pathlib import Path

from shared.events.catalogue import all_topics
from shared.settings import Settings
from tests.reliability.checks import Check, database
from tests.reliability.ledger import Ledger
from tests.reliability.settle import backlog, stranded
from tests.support.events import read_topic

_PARSER = BytesParser(policy=policy.default)


def sink_deliveries(mail_dir: Path) -> Counter[tuple[str, str]]:
    """(Message-ID, recipient) -> how many times the sink received it."""
    seen: Counter[tuple[str, str]] = Counter()
    for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:
        with path.open("rb") as fh:
            headers = _PARSER.parse(fh, headersonly=True)
        message_id = str(headers.get("Message-ID", "")).strip()
        for rcpt in str(headers.get("X-RcptTo", "")).split(","):
            seen[(message_id, rcpt.strip().lower())] += 1
    return seen


async def mail_sink_checks(settings: Settings, ledger: Ledger, campaigns: bool) -> list[Check]:
    check = Check("mail_sink.at_most_once")
    delivered = sink_deliveries(settings.home / "mail")
    check.duplicated = [f"{m} to {r} x{n}" for (m, r), n in delivered.items() if n > 1]
    if not campaigns:
        return [check]
    sent = Check("campaigns.sent_mail_in_sink")
    ids = {m.strip("<>").partition("@")[0] for m, _ in delivered}
    async with database(settings, "campaigns") as conn:
        rows = await conn.fetch(
            "SELECT id::text, status FROM messages WHERE campaign_id = ANY($1::uuid[])",
            ledger.campaigns,
        )
    statuses = Counter(r["status"] for r in rows)
    sent.expected = statuses["sent"]
    sent.lost = [r["id"] for r in rows if r["status"] == "sent" and r["id"] not in ids]
    check.expected = len(delivered)
    sent.details["message_statuses"] = dict(statuses)
    return [check, sent]


async def outbox_checks(settings: Settings, services: list[str]) -> list[Check]:
    check = Check("outboxes.drained")
    for name in services:
        left = await backlog(settings, name)
        if left != 0:
            check.problems.append(f"{name}: {left} events never published")
        below = await stranded(settings, name)
        if below != 0:
            check.problems.append(
                f"{name}: {below} events unpublished at or below the relay's floor"
            )
        if passed := floor_passed_unpublished(settings.home / "logs" / f"{name}.log"):
            check.problems.append(
                f"{name}: the relay's floor passed {passed} unpublished rows (found later)"
            )
    return [check]


def floor_passed_unpublished(log: Path) -> int:
    """The relay's reports of a row it found below its floor unpublished (shared.relay_gaps):
    published in the end, but each one a failure of the floor's proof."""
    if not log.exists():
        return 0
    return log.read_text(errors="replace").count('"relay.unpublished_below_floor"')


async def dlq_checks(settings: Settings, ledger: Ledger) -> tuple[list[Check], dict[str, int]]:
    check = Check("dead_letters")
    per_topic: dict[str, int] = {}
    parked_poison: Counter[str] = Counter()
    for topic in [t for t in all_topics() if t.endswith(".dlq")]:
        records = await read_topic(settings.kafka, topic)
        if records:
            per_topic[topic] = len(records)
        for record, _ in records:
            key = (record.key or b"").decode(errors="replace")
            if key in ledger.poison_keys:
                parked_poison[key] += 1
                continue
            headers = {k: v.decode(errors="replace") for k, v in record.headers}
            check.problems.append(
                f"{topic} key {key}: {headers.get('x-consumer')} parked it: "
                f"{headers.get('x-error-type')}: {headers.get('x-error', '')[:300]}"
            )
    check.expected = len(ledger.poison_keys)
    check.lost = [
        f"poison {k} not dead-lettered" for k in ledger.poison_keys if not parked_poison[k]
    ]
    return [check], per_topic
