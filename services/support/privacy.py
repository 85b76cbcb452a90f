"""Support answers privacy requests: erasure, export and unmerge (see store/privacy.py).

The erasure guard that drops events naming an erased person is installed by the runtime for
every service."""

from __future__ import annotations

import uuid

import asyncpg

from services.support.domain import normalise_email
from services.support.store import privacy as store
from services.support.store import requesters
from shared.cloudevents import Envelope
from shared.events.privacy import CustomersUnmerged
from shared.privacy import (
    answer_requests,
)
from shared.service import Runtime

SERVICE = "support"


def register(runtime: Runtime) -> None:
    answer_requests(runtime, SERVICE, store.erase, store.section)

    @runtime.on(CustomersUnmerged)
    async def unmerge(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersUnmerged.model_validate(env.data)
        emails = [_email(i["value"]) for i in event.identities if i.get("kind") == "email"]
        await requesters.forget_merge(
            conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id)
        )
        await store.unmerge(
            conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id),
            [e for e in emails if e],
        )  # fmt: skip


def _email(value: str) -> str | None:
    try:
        return normalise_email(value)
    except ValueError:
        return None
