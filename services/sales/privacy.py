"""Sales answers privacy requests: erasure, export and unmerge (see store/privacy.py).

The erasure guard that drops events naming an erased person is installed by the runtime for
every service."""

from __future__ import annotations

import uuid

import asyncpg

from services.sales.store import privacy as store
from shared.cloudevents import Envelope
from shared.events.privacy import CustomersUnmerged
from shared.privacy import (
    answer_requests,
)
from shared.service import Runtime

SERVICE = "sales"


def register(runtime: Runtime) -> None:
    answer_requests(runtime, SERVICE, store.erase, store.section)

    @runtime.on(CustomersUnmerged)
    async def unmerge(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersUnmerged.model_validate(env.data)
        await store.unmerge(conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id))
