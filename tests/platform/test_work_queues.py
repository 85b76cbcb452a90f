"""The services' own work queues on /metrics: each statement counts the right rows of its own
schema, and `shared.work_queues` turns its answer into the two gauges."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from prometheus_client import REGISTRY

from services.campaigns import queues as campaigns_queues
from services.contacts import queues as contacts_queues
from services.interactions import queues as interactions_queues
from services.support import queues as support_queues
from shared import work_queues
from shared.service import Runtime
from tests.support.db import SERVICES, fresh_schema


class Registered:
    """Stands in for a Runtime: keeps what a service's `queues.register` asks for."""

    def __init__(self) -> None:
        self.work_queues: list[work_queues.WorkQueue] = []

    def work_queue(self, name: str, sql: str) -> None:
        self.work_queues.append(work_queues.WorkQueue(name, sql))


def registered(module) -> list[work_queues.WorkQueue]:  # type: ignore[no-untyped-def]
    runtime = Registered()
    module.register(runtime)
    return runtime.work_queues


def gauge(name: str, service: str, queue: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": service, "queue": queue})


async def figures(conn: asyncpg.Connection, module) -> dict[str, tuple[int, float | None]]:  # type: ignore[no-untyped-def]
    out = {}
    for queue in registered(module):
        waiting, oldest_s = await conn.fetchrow(queue.sql)
        out[queue.name] = (waiting, None if oldest_s is None else round(oldest_s))
    return out


async def test_every_queue_statement_runs_on_its_own_schema_and_starts_empty(infra):
    modules = {
        "campaigns": campaigns_queues,
        "support": support_queues,
        "contacts": contacts_queues,
        "interactions": interactions_queues,
    }
    for service, module in modules.items():
        async with fresh_schema(infra, service) as conn:
            found = await figures(conn, module)
        assert found and all(v == (0, None) for v in found.values()), (service, found)


async def test_campaigns_counts_mails_by_where_they_are(infra):
    async with fresh_schema(infra, "campaigns") as conn:
        rows = [  # (status, attempts, send_after, claimed_at)
            ("pending", 0, "-90 seconds", None),  # due, the oldest
            ("pending", 0, "-30 seconds", None),  # due
            ("pending", 2, "-10 seconds", None),  # due again after two failed attempts
            ("pending", 1, "+5 minutes", None),  # retrying, not yet due
            ("pending", 0, "+2 days", None),  # a journey's delay: neither due nor retrying
            ("sending", 1, "-1 minute", "-40 seconds"),
            ("sent", 1, "-1 hour", "-1 hour"),
            ("failed", 5, "-1 hour", "-1 hour"),
        ]
        for status, attempts, after, claimed in rows:
            await conn.execute(
                "INSERT INTO messages (id, customer_id, status, attempts, send_after, claimed_at)"
                " VALUES ($1, $1, $2, $3, now() + $4::text::interval, now() + $5::text::interval)",
                uuid.uuid4(),
                status,
                attempts,
                after,
                claimed,
            )
        segment = uuid.uuid4()
        await conn.execute(
            "INSERT INTO segments (id, name, rule, building_since)"
            " VALUES ($1, 's', '{}', now() - interval '12 s')",
            segment,
        )
        await conn.execute(
            "INSERT INTO campaigns (id, name, segment_id, subject, html, from_address, status,"
            " launched_at) VALUES ($1, 'c', $2, 's', 'h', 'a@example.com', 'launching',"
            " now() - interval '7 s')",
            uuid.uuid4(),
            segment,
        )
        found = await figures(conn, campaigns_queues)
    assert found["mails_due"] == (3, 90)
    assert found["mails_retrying"] == (2, None)
    assert found["mails_sending"] == (1, 40)
    assert found["campaigns_launching"] == (1, 7)
    assert found["segments_building"] == (1, 12)


async def test_support_counts_replies_due_and_retrying(infra):
    async with fresh_schema(infra, "support") as conn:
        ticket = uuid.uuid4()
        await conn.execute(
            "INSERT INTO tickets (id, subject, channel) VALUES ($1, 's', 'email')", ticket
        )
        rows = [  # (status, attempts, next_attempt_at)
            ("pending", 0, "-20 seconds"),
            ("pending", 3, "-5 seconds"),
            ("pending", 1, "+1 minute"),
            ("sent", 1, "-1 hour"),
            ("failed", 8, "-1 hour"),
        ]
        for status, attempts, next_at in rows:
            await conn.execute(
                "INSERT INTO outgoing_mail (id, ticket_id, kind, rfc_message_id, to_addr,"
                " subject, body, status, attempts, next_attempt_at)"
                " VALUES ($1, $2, 'reply', $1::uuid::text, 'a@example.com', 's', 'b', $3, $4,"
                " now() + $5::text::interval)",
                uuid.uuid4(),
                ticket,
                status,
                attempts,
                next_at,
            )
        found = await figures(conn, support_queues)
    assert found == {"replies_due": (2, 20), "replies_retrying": (2, None)}


async def test_refresh_sets_the_count_and_the_age_when_there_is_one(infra):
    async with fresh_schema(infra, "campaigns") as conn:
        queues = [
            work_queues.WorkQueue("aged", "SELECT 4::bigint, 12.5::float8"),
            work_queues.WorkQueue("ageless", "SELECT 3::bigint, NULL::float8"),
            work_queues.WorkQueue("empty", "SELECT 0::bigint, NULL::float8"),
        ]
        await work_queues.refresh(conn, "queue_test", queues)
    assert gauge("ecrm_work_queue", "queue_test", "aged") == 4
    assert gauge("ecrm_work_queue_oldest_seconds", "queue_test", "aged") == 12.5
    assert gauge("ecrm_work_queue", "queue_test", "ageless") == 3
    assert gauge("ecrm_work_queue_oldest_seconds", "queue_test", "ageless") is None
    assert gauge("ecrm_work_queue", "queue_test", "empty") == 0
    assert gauge("ecrm_work_queue_oldest_seconds", "queue_test", "empty") == 0


async def test_a_process_reads_its_queues_at_most_every_few_seconds(infra, monkeypatch):
    runtime = Runtime(
        "queue_pace", SERVICES / "campaigns" / "migrations", settings=infra.settings()
    )
    async with fresh_schema(infra, "campaigns") as conn:
        await conn.execute("CREATE SEQUENCE reads")
        runtime.work_queue("counted", "SELECT nextval('reads'), NULL::float8")
        runtime.pool = Borrowed(conn)  # type: ignore[assignment]
        await runtime.refresh_gauges()
        await runtime.refresh_gauges()  # at once: the figure it has
        assert gauge("ecrm_work_queue", "queue_pace", "counted") == 1
        monkeypatch.setattr(work_queues, "EVERY_S", 0.0)
        await runtime.refresh_gauges()
        assert gauge("ecrm_work_queue", "queue_pace", "counted") == 2


class Borrowed:
    """A pool of the one connection a test holds."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        yield self.conn
