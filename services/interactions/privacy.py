"""Interactions answers privacy requests (erasure, export, unmerge) and applies the retention of
raw tracking rows (`ECRM_INTERACTIONS_RAW_RETENTION_DAYS`, 395 days unless set).

The erasure guard that drops events naming an erased person is installed by the runtime for
every service."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg

from services.interactions.consumers import publish_metrics
from services.interactions.store import privacy as store
from services.interactions.store.identities import rewriting_attribution
from shared.cloudevents import Envelope
from shared.events.privacy import CustomersUnmerged
from shared.privacy import (
    answer_requests,
    days_setting,
    purge_every,
)
from shared.service import Runtime

SERVICE = "interactions"
RETENTION_ENV = "ECRM_INTERACTIONS_RAW_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 395  # 13 months, the usual ceiling for audience measurement data
PURGE_EVERY_SECONDS = 3600


def raw_retention_days(environ: Mapping[str, str] | None = None) -> int:
    return days_setting(RETENTION_ENV, DEFAULT_RETENTION_DAYS, environ)


def register(runtime: Runtime) -> None:
    days = raw_retention_days()

    answer_requests(runtime, SERVICE, store.erase, store.section)

    @runtime.on(CustomersUnmerged)
    async def unmerge(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersUnmerged.model_validate(env.data)
        survivor, restored = uuid.UUID(event.customer_id), uuid.UUID(event.restored_id)
        await rewriting_attribution(conn)
        await store.unmerge(conn, survivor, restored, event.identities)
        await publish_metrics(conn, {survivor, restored})

    async def purge_raw_rows() -> int:
        async with runtime.db.acquire() as conn:
            return await store.purge_raw(conn, days)

    runtime.background(
        lambda stop: purge_every(PURGE_EVERY_SECONDS, purge_raw_rows, "raw tracking rows", stop)
    )
