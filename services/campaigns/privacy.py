"""Campaigns answers privacy requests: erasure, export and unmerge (see store/privacy.py).

An erased address is never mailed again: the erasure records its hash in `erased_subjects`,
the sender checks every recipient's hash there before a mail goes out, and the platform's guard
drops any later event that carries the address or the erased id."""

from __future__ import annotations

import uuid

import asyncpg

from services.campaigns.store import audience, membership
from services.campaigns.store import privacy as store
from shared.cloudevents import Envelope
from shared.events.privacy import CustomersUnmerged
from shared.privacy import answer_requests
from shared.service import Runtime

SERVICE = "campaigns"


def register(runtime: Runtime) -> None:
    async def erase(conn: asyncpg.Connection, customer_id: str, ids: list, hashes: list) -> None:
        await audience.lock_for_events(conn)  # no segment update runs beside the erasure
        await store.erase(conn, customer_id, ids, hashes)

    answer_requests(runtime, SERVICE, erase, store.section)

    @runtime.on(CustomersUnmerged)
    async def unmerge(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersUnmerged.model_validate(env.data)
        await audience.lock_for_events(conn)
        await store.unmerge(conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id))
        await membership.reevaluate(conn, [event.customer_id, event.restored_id])
