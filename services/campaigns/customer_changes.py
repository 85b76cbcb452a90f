"""Contacts' snapshots and consents and interactions' figures, into the audience.

Each customer's changes apply in their order, and the customer is re-evaluated against every
segment after each. Different customers' changes touch different rows, so a run of them goes in
waves: the first change of every customer, then the second, and so on. A wave is one statement
per kind of change (metrics: one pipelined round trip) instead of one per event: contacts
sends a new customer as CustomerCreated then ConsentChanged, so a run alternates kinds, and
grouping only neighbours of one kind would leave one statement per event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TypeVar

import asyncpg

from services.campaigns.store import audience, journeys, membership
from shared.cloudevents import Envelope
from shared.events.contacts import ConsentChanged, CustomerCreated, CustomerUpdated
from shared.events.interactions import CustomerMetricsChanged

Change = CustomerCreated | CustomerUpdated | ConsentChanged | CustomerMetricsChanged
KINDS: dict[str, type[Change]] = {
    "CustomerCreated": CustomerCreated,
    "CustomerUpdated": CustomerUpdated,
    "ConsentChanged": ConsentChanged,
    "CustomerMetricsChanged": CustomerMetricsChanged,
}
T = TypeVar("T")


def waves(items: Iterable[tuple[Hashable, T]]) -> list[list[T]]:
    """(key, item) pairs into waves: each key's n-th item in wave n. A wave holds a key once,
    and each key's items keep their order across the waves."""
    out: list[list[T]] = []
    seen: dict[Hashable, int] = {}
    for key, item in items:
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(out):
            out.append([])
        out[n].append(item)
    return out


async def in_waves(
    conn: asyncpg.Connection,
    items: list[tuple[str, T]],
    apply_wave: Callable[[list[T]], Awaitable[None]],
) -> None:
    """A run of (customer id, item) with one lock and one read of the segment rules: in waves,
    each applied, then its customers re-evaluated, so memberships change as they would item by
    item."""
    await audience.lock_for_events(conn)
    rules = await membership.segment_rules(conn)
    for wave in waves((customer, (customer, item)) for customer, item in items):
        await apply_wave([item for _, item in wave])
        await membership.reevaluate(conn, [customer for customer, _ in wave], rules)


async def apply(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    """A run of these events, in waves (`in_waves`)."""
    changes = [(env.id, KINDS[env.name].model_validate(env.data)) for env in envs]
    await in_waves(
        conn,
        [(change.customer_id, (eid, change)) for eid, change in changes],
        lambda wave: _apply_wave(conn, wave),
    )


async def _apply_wave(conn: asyncpg.Connection, wave: list[tuple[str, Change]]) -> None:
    snapshots = [c for _, c in wave if isinstance(c, CustomerUpdated | CustomerCreated)]
    created = [(eid, c.customer_id) for eid, c in wave if type(c) is CustomerCreated]
    consents = [c for _, c in wave if isinstance(c, ConsentChanged)]
    figures = [c for _, c in wave if isinstance(c, CustomerMetricsChanged)]
    if snapshots:
        await audience.apply_snapshots(conn, [(c.customer_id, c.model_dump()) for c in snapshots])
    if created:
        await journeys.trigger_each(conn, "customer_created", created)
    if consents:
        await audience.set_consents(conn, [(c.customer_id, c.channel, c.state) for c in consents])
    if figures:
        await audience.set_metrics(
            conn, [(c.customer_id, c.orders_count, c.total_spent, c.last_seen) for c in figures]
        )
