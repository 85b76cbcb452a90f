"""Contacts' snapshots and consents and interactions' figures, into the audience.

Each customer's changes apply in their order, and the customer is re-evaluated against every
segment after each (figures that change no rule's input excepted). Different customers' changes
touch different rows, so a run of them goes in waves: the first change of every customer, then
the second, and so on. A wave is one statement per kind of change, and one re-evaluation of its
customers together, instead of one per event: contacts sends a new customer as CustomerCreated
then ConsentChanged, so a run alternates kinds, and grouping only neighbours of one kind would
leave one statement per event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable
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
    apply_wave: Callable[[list[T], membership.SegmentRules], Awaitable[Collection[str] | None]],
) -> None:
    """A run of (customer id, item) with one lock and one read of the segment rules: in waves,
    each applied, then its customers re-evaluated, so memberships change as they would item by
    item. `apply_wave` (given the rules) may answer which of the wave's customers changed in a
    way a rule can read (None: all of them); only those are re-evaluated. One who drifts out of
    a time window meanwhile leaves at the next sweep (`sending.scheduler`)."""
    await audience.lock_for_events(conn)
    rules = await membership.segment_rules(conn)
    for wave in waves((customer, (customer, item)) for customer, item in items):
        changed = await apply_wave([item for _, item in wave], rules)
        customers = [c for c, _ in wave if changed is None or c in changed]
        if customers:
            await membership.reevaluate(conn, customers, rules)


async def apply(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
    """A run of these events, in waves (`in_waves`)."""
    changes = [(env.id, KINDS[env.name].model_validate(env.data)) for env in envs]
    await in_waves(
        conn,
        [(change.customer_id, (eid, change)) for eid, change in changes],
        lambda wave, _: _apply_wave(conn, wave),
    )


def _asks_confirmation(change: Change) -> bool:
    """Email consent asked for and not confirmed yet: the double opt-in journeys start."""
    if not isinstance(change, ConsentChanged):
        return False
    return change.channel == "email" and change.state == "pending"


async def _apply_wave(conn: asyncpg.Connection, wave: list[tuple[str, Change]]) -> set[str]:
    """The wave's changes; returns the customers to re-evaluate: all but those whose figures came
    with the same orders and total spent (no rule reads the rest of the figures)."""
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
        asked = [(eid, c.customer_id) for eid, c in wave if _asks_confirmation(c)]
        if asked:
            await journeys.trigger_each(conn, "consent_pending", asked)
    changed = {c.customer_id for _, c in wave if not isinstance(c, CustomerMetricsChanged)}
    if figures:
        changed |= await audience.set_metrics(
            conn, [(c.customer_id, c.orders_count, c.total_spent, c.last_seen) for c in figures]
        )
    return changed
