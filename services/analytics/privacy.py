"""Analytics answers privacy requests: erasure, export and unmerge (see store/privacy.py).

Analytics consumes every topic in batches, so these are projections of its topic handler (see
consumers.py) rather than type handlers; the platform's guard drops the late events of erased
people before any projection sees them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from services.analytics.store import privacy as store
from shared.cloudevents import Envelope
from shared.events.privacy import CustomerErased, CustomersUnmerged, ExportRequested
from shared.privacy import answer_erasure, answer_export, erased_hashes, erased_ids

SERVICE = "analytics"


async def erase(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    for env in envs:
        event = CustomerErased.model_validate(env.data)
        await store.erase(conn, event.customer_id, erased_ids(event), erased_hashes(event))
        await answer_erasure(conn, SERVICE, event)


async def export(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    for env in envs:
        event = ExportRequested.model_validate(env.data)
        messages = await store.export(conn, [str(i) for i in erased_ids(event)])
        await answer_export(conn, SERVICE, event, {"campaign_messages": messages})


async def unmerge(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    for env in envs:
        event = CustomersUnmerged.model_validate(env.data)
        await store.unmerge(conn, event.customer_id, event.restored_id)


PROJECTIONS: dict[str, Callable[[asyncpg.Connection, list[Envelope]], Awaitable[None]]] = {
    CustomerErased.ce_type(): erase,
    ExportRequested.ce_type(): export,
    CustomersUnmerged.ce_type(): unmerge,
}
