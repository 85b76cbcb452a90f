"""The funnel's figures are kept as the stamps are made (`funnel_figures`): after any order of
sends, opens, clicks, bounces and unsubscribes, repeated, in batches of any size, they equal a
count of the messages themselves."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from services.analytics.store import funnel
from shared.events.campaigns import (
    LinkClicked,
    MessageBounced,
    MessageEvent,
    MessageOpened,
    MessageSent,
)
from shared.events.contacts import ConsentChanged
from tests.support.db import SERVICES, fresh_schema

COLUMN = {MessageSent: "sent_at", MessageOpened: "opened_at", LinkClicked: "clicked_at"}
COLUMN[MessageBounced] = "bounced_at"

# the figures as the reads counted them before they were kept, from every message
RECOUNT = """
SELECT COALESCE(campaign_id, '') AS campaign_id, COALESCE(journey_id, '') AS journey_id,
       COALESCE((sent_at AT TIME ZONE 'UTC')::date, '-infinity') AS day,
       count(sent_at) AS sent,
       count(*) FILTER (WHERE opened_at IS NOT NULL OR clicked_at IS NOT NULL) AS opened,
       count(clicked_at) AS clicked, count(unsubscribed_at) AS unsubscribed,
       count(bounced_at) AS bounced, min(sent_at) AS first_sent_at
FROM campaign_messages GROUP BY 1, 2, 3
"""
KEPT = """
SELECT campaign_id, journey_id, day, sent, opened, clicked, unsubscribed, bounced, first_sent_at
FROM funnel_figures WHERE (sent, opened, clicked, unsubscribed, bounced) <> (0, 0, 0, 0, 0)
"""


def traffic(rng: random.Random, start: datetime) -> list[MessageEvent | ConsentChanged]:
    """Messages of two campaigns and a journey sent over three days around midnight, with
    their reactions, unsubscribes and repeats of all of them."""
    events: list[MessageEvent | ConsentChanged] = []
    for n in range(60):
        owner = {"campaign_id": f"c{n % 2}"} if n % 3 else {"journey_id": "j0"}
        ids = {"message_id": f"m{n}", "customer_id": f"u{n % 40}", **owner}
        sent = start + timedelta(hours=rng.uniform(0, 60))
        events.append(MessageSent(**ids, subject="s", at=sent))
        later = [sent + timedelta(minutes=rng.uniform(-30, 600)) for _ in range(4)]
        if rng.random() < 0.6:
            events.append(MessageOpened(**ids, at=later[0]))
        if rng.random() < 0.3:
            events.append(LinkClicked(**ids, url="https://example.com", at=later[1]))
        if rng.random() < 0.1:
            events.append(MessageBounced(**ids, permanent=True, reason="no", at=later[2]))
        if rng.random() < 0.2:
            events.append(
                ConsentChanged(
                    customer_id=ids["customer_id"],
                    channel="email",
                    state="unsubscribed",
                    source=f"link in {ids['message_id']}",
                    at=later[3],
                )
            )
    repeats = rng.sample(events, len(events) // 3)
    for event in repeats:  # some again later: the same event, or the same stage again sooner
        if isinstance(event, MessageEvent) and rng.random() < 0.5:
            event = event.model_copy(update={"at": event.at - timedelta(minutes=5)})
        events.append(event)
    rng.shuffle(events)
    return events


async def apply(conn: asyncpg.Connection, events: list, rng: random.Random) -> None:
    """In runs of up to a dozen consecutive events of one kind, as the consumer hands them."""
    i = 0
    while i < len(events):
        kind, size = type(events[i]), rng.randint(1, 12)
        run = [events[i]]
        while i + len(run) < len(events) and len(run) < size:
            if type(events[i + len(run)]) is not kind:
                break
            run.append(events[i + len(run)])
        async with conn.transaction():
            if kind is ConsentChanged:
                for event in run:
                    await funnel.record_unsubscribe(conn, event)
            else:
                await funnel.record_stage(conn, COLUMN[kind], run)
        i += len(run)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kept_figures_equal_a_count_of_the_messages(infra, seed):
    rng = random.Random(seed)
    start = datetime(2026, 11, 30, 20, tzinfo=UTC)
    events = traffic(rng, start)
    async with fresh_schema(infra, "analytics") as conn:
        await apply(conn, events, rng)
        stamps = await conn.fetch("SELECT * FROM campaign_messages")
        for column in COLUMN.values():  # each stage at its earliest time, whatever the order
            earliest: dict[str, datetime] = {}
            for e in events:
                if COLUMN.get(type(e)) == column:
                    earliest[e.message_id] = min(e.at, earliest.get(e.message_id, e.at))
            assert {r["message_id"]: r[column] for r in stamps if r[column]} == earliest
        recount = {tuple(r.values())[:3]: dict(r) for r in await conn.fetch(RECOUNT)}
        kept = {tuple(r.values())[:3]: dict(r) for r in await conn.fetch(KEPT)}
        assert kept == recount
        assert sum(r["unsubscribed"] for r in kept.values()) > 0  # the traffic had each stage
        assert sum(r["clicked"] for r in kept.values()) > 0
        assert sum(r["bounced"] for r in kept.values()) > 0

        # the reads: a campaign's figures whatever the day; the days' totals from `since`
        one = await funnel.one_campaign(conn, "c1")
        assert one is not None
        assert one["sent"] == sum(r["sent"] for k, r in recount.items() if k[0] == "c1")
        since = date(2026, 12, 1)
        totals = await funnel.totals(conn, since)
        in_window = [r for r in recount.values() if r["day"] >= since]
        assert totals["opened"] == sum(r["opened"] for r in in_window)
        journeys = await funnel.journeys(conn, since)
        assert [j["journey_id"] for j in journeys] == ["j0"]


async def test_the_migration_counts_the_messages_already_there(infra):
    async with fresh_schema(infra, "analytics") as conn:
        assert await conn.fetchval("SELECT count(*) FROM funnel_figures") == 0
        # its backfill, again, over rows written by hand
        migration = (SERVICES / "analytics" / "migrations" / "0002_funnel_figures.sql").read_text()
        backfill = migration[migration.index("INSERT INTO funnel_figures") :]
        backfill = backfill[: backfill.index(";") + 1]
        await conn.execute(
            "INSERT INTO campaign_messages (message_id, campaign_id, sent_at, clicked_at)"
            " VALUES ('m1', 'c', now(), now()), ('m2', 'c', NULL, now())"
        )
        await conn.execute(backfill)
        kept = {tuple(r.values())[:3]: dict(r) for r in await conn.fetch(KEPT)}
        recount = {tuple(r.values())[:3]: dict(r) for r in await conn.fetch(RECOUNT)}
        assert kept == recount and len(kept) == 2


async def test_a_batch_with_a_message_twice_keeps_its_earliest_time_and_counts_it_once(infra):
    late = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    early = late - timedelta(hours=1)  # the day before, in UTC
    sends = [
        MessageSent(message_id="m", customer_id="u", campaign_id="c", subject="s", at=at)
        for at in (late, early)
    ]
    async with fresh_schema(infra, "analytics") as conn:
        await funnel.record_stage(conn, "sent_at", sends)
        assert await conn.fetchval("SELECT sent_at FROM campaign_messages") == early
        kept = await conn.fetch("SELECT day, sent FROM funnel_figures WHERE sent <> 0")
        assert [(r["day"], r["sent"]) for r in kept] == [(early.date(), 1)]
