"""Contacts tracks the privacy requests it fanned out: every service's answer is recorded, and a
request completes when all expected services answered. It also applies what the campaigns'
links ask of the consent record: unsubscribing (source `unsubscribe_link`), and confirming a
pending subscription (double opt-in, source `double_opt_in`).

The erasure guard that drops events naming an erased person is installed by the runtime for
every service."""

from __future__ import annotations

import uuid

import asyncpg

from services.contacts.store import customers, privacy_requests
from services.contacts.store.rows import resolve
from shared.cloudevents import Envelope
from shared.events.campaigns import SubscriptionConfirmed, UnsubscribeRequested
from shared.events.privacy import ANSWERS
from shared.logging import get_logger
from shared.privacy import days_setting, purge_every
from shared.service import Runtime

log = get_logger(__name__)
EXPORT_RETENTION_ENV = "ECRM_PRIVACY_EXPORT_RETENTION_DAYS"
EXPORT_RETENTION_DAYS = 30  # time to download an export; a new one can be requested any time
PURGE_EVERY_SECONDS = 3600


def register(runtime: Runtime) -> None:
    answer_types = [t for service, pair in ANSWERS.items() if service != "contacts" for t in pair]

    @runtime.on(*answer_types)
    async def record_answer(conn: asyncpg.Connection, env: Envelope) -> None:
        service = env.data.get("service") or env.type.split(".")[1]
        section = env.data.get("section") if env.name == "ExportContributed" else None
        request_id = uuid.UUID(env.data["request_id"])
        if not await privacy_requests.record_answer(conn, request_id, service, section):
            log.warning("privacy.unknown_request", request_id=str(request_id), service=service)

    @runtime.on(UnsubscribeRequested)
    async def unsubscribe(conn: asyncpg.Connection, env: Envelope) -> None:
        event = UnsubscribeRequested.model_validate(env.data)
        row = await resolve(conn, uuid.UUID(event.customer_id))
        if row is None:
            return
        await customers.set_consent(conn, row["id"], event.channel, event.state, event.source, None)

    @runtime.on(SubscriptionConfirmed)
    async def confirm_subscription(conn: asyncpg.Connection, env: Envelope) -> None:
        """Only a consent still pending: an unsubscribe since the mail was sent stands."""
        event = SubscriptionConfirmed.model_validate(env.data)
        row = await resolve(conn, uuid.UUID(event.customer_id), lock=True)
        if row is None or (row["consent"] or {}).get(event.channel, {}).get("state") != "pending":
            return
        await customers.apply_consent(
            conn, row, event.channel, "subscribed", "double_opt_in", "consent"
        )

    days = days_setting(EXPORT_RETENTION_ENV, EXPORT_RETENTION_DAYS)

    async def expire_exports() -> int:
        async with runtime.db.acquire() as conn:
            return await privacy_requests.expire_exports(conn, days)

    runtime.background(
        lambda stop: purge_every(PURGE_EVERY_SECONDS, expire_exports, "export documents", stop)
    )
