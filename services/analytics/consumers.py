"""Analytics consumes every topic of the catalogue: each batch is counted per minute, type and
channel, and the events the figures need feed the funnel, support and commerce projections.

The platform's inbox makes each event apply once, in the same transaction as these writes.
A malformed event raises here: it is retried alone, then dead-lettered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import asyncpg

from services.analytics import domain
from services.analytics import privacy as privacy_requests
from services.analytics.store import commerce, counts, funnel, privacy, support
from shared.cloudevents import Envelope
from shared.events import campaigns as ce
from shared.events import contacts as co
from shared.events import interactions as ie
from shared.events import support as se
from shared.events.catalogue import all_topics
from shared.service import Runtime

Projection = Callable[[asyncpg.Connection, list[Envelope]], Awaitable[None]]


def register(runtime: Runtime) -> None:
    for topic in all_topics(with_dlq=False):
        runtime.on_topic(topic, batch=True)(ingest)


async def ingest(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    await counts.add(conn, domain.count_by_minute(envs, datetime.now(UTC)))
    for projection, group in _by_projection(envs):
        await projection(conn, group)


def _by_projection(envs: list[Envelope]) -> list[tuple[Projection, list[Envelope]]]:
    """Consecutive events of one projection, grouped; the batch's order is kept."""
    runs: list[tuple[Projection, list[Envelope]]] = []
    for env in envs:
        projection = PROJECTIONS.get(env.type)
        if projection is None:
            continue
        if runs and runs[-1][0] is projection:
            runs[-1][1].append(env)
        else:
            runs.append((projection, [env]))
    return runs


def _stage(column: str, model: type[ce.MessageEvent]) -> Projection:
    async def project(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        await funnel.record_stage(conn, column, [model.model_validate(e.data) for e in envs])

    return project


async def launched(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    for env in envs:
        await funnel.record_launch(conn, ce.CampaignLaunched.model_validate(env.data))


async def consent_changed(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    for env in envs:
        event = co.ConsentChanged.model_validate(env.data)
        if domain.is_email_unsubscribe(env.data):
            await funnel.record_unsubscribe(conn, event)


async def ticket_opened(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    await support.record_opened(conn, [se.TicketOpened.model_validate(e.data) for e in envs])


async def ticket_message(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    messages = [se.TicketMessageAdded.model_validate(e.data) for e in envs]
    await support.record_first_responses(
        conn,
        [
            (m.ticket_id, m.at)
            for m in messages
            if domain.is_first_response(m.author_kind, m.visibility)
        ],
    )


async def ticket_status(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    per_day: Counter[date] = Counter()
    for env in envs:
        change = se.TicketStatusChanged.model_validate(env.data)
        if domain.is_resolution(change.to_status):
            per_day[change.at.astimezone(UTC).date()] += 1
    await support.record_resolutions(conn, per_day)


async def sla_breached(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    await support.record_breaches(conn, [se.SlaBreached.model_validate(e.data) for e in envs])


async def rated(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    ratings = [se.SatisfactionRated.model_validate(e.data) for e in envs]
    if any(not 1 <= r.rating <= 5 for r in ratings):
        raise ValueError("SatisfactionRated.rating must be between 1 and 5")
    await support.record_ratings(conn, ratings)


async def order_placed(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    await commerce.record_orders(conn, [ie.OrderPlaced.model_validate(e.data) for e in envs])


async def customers_merged(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    for env in envs:
        event = co.CustomersMerged.model_validate(env.data)
        await privacy.merge(conn, event.customer_id, event.merged_id)


PROJECTIONS: dict[str, Projection] = {
    ce.CampaignLaunched.ce_type(): launched,
    ce.MessageSent.ce_type(): _stage("sent_at", ce.MessageSent),
    ce.MessageOpened.ce_type(): _stage("opened_at", ce.MessageOpened),
    ce.LinkClicked.ce_type(): _stage("clicked_at", ce.LinkClicked),
    ce.MessageBounced.ce_type(): _stage("bounced_at", ce.MessageBounced),
    co.ConsentChanged.ce_type(): consent_changed,
    co.CustomersMerged.ce_type(): customers_merged,
    se.TicketOpened.ce_type(): ticket_opened,
    se.TicketMessageAdded.ce_type(): ticket_message,
    se.TicketStatusChanged.ce_type(): ticket_status,
    se.SlaBreached.ce_type(): sla_breached,
    se.SatisfactionRated.ce_type(): rated,
    ie.OrderPlaced.ce_type(): order_placed,
    **privacy_requests.PROJECTIONS,  # erasure, export, unmerge
}
