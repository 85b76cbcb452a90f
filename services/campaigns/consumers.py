"""Campaigns consumes contacts, interactions and support events: the audience projection,
incremental segment membership, and journey triggers. Every handler runs inside the inbox
claim's transaction, so an event is applied once."""

from __future__ import annotations

import uuid

import asyncpg

from services.campaigns import customer_changes
from services.campaigns.store import audience, journeys, membership, privacy
from shared.cloudevents import Envelope
from shared.events.contacts import CustomerDeleted, CustomersMerged
from shared.events.interactions import InteractionRecorded, OrderPlaced
from shared.events.support import TicketStatusChanged
from shared.messaging import names_a_customer
from shared.service import Runtime

ORDER_EVENT_NAME = "Order Placed"  # what `{"event": "Order Placed"}` matches for OrderPlaced
ORDER_CONTEXT = {"order_id", "store_id", "channel", "currency", "total", "lines", "placed_at"}


def is_a_customer_s_track_call(env: Envelope) -> bool:
    """Segments only match named track events of known customers."""
    data = env.data
    return data.get("kind") == "track" and bool(data.get("customer_id")) and bool(data.get("name"))


Order = tuple[str, str, OrderPlaced]  # event id, customer id, the order


async def _record_touches(
    conn: asyncpg.Connection, wave: list[audience.Touch], rules: membership.SegmentRules
) -> set[str]:
    """The wave's named events; the customers whose events a rule reads, to re-evaluate."""
    await audience.record_events(conn, wave)
    return {customer for _, customer, name, _ in wave if name in rules.event_depths}


async def _apply_orders(
    conn: asyncpg.Connection, wave: list[Order], rules: membership.SegmentRules
) -> set[str]:
    """The wave's orders as events, and the journeys they start; the customers to re-evaluate
    (none when no rule reads orders as events: the figures carry the orders' counts)."""
    await audience.record_events(
        conn,
        [
            (f"order:{o.store_id}:{o.order_id}", customer, ORDER_EVENT_NAME, o.placed_at)
            for _, customer, o in wave
        ],
    )
    await journeys.trigger_each(
        conn,
        "order_placed",
        [(eid, customer) for eid, customer, _ in wave],
        [o.model_dump(mode="json", include=ORDER_CONTEXT) for _, _, o in wave],
    )
    if ORDER_EVENT_NAME not in rules.event_depths:
        return set()
    return {customer for _, customer, _ in wave}


def register(runtime: Runtime) -> None:
    runtime.on_batch(*customer_changes.KINDS.values())(customer_changes.apply)

    @runtime.on(CustomersMerged)
    async def project_merge(conn: asyncpg.Connection, env: Envelope) -> None:
        merged = CustomersMerged.model_validate(env.data)
        await audience.lock_for_events(conn)
        survivor, merged_id = uuid.UUID(merged.customer_id), uuid.UUID(merged.merged_id)
        await privacy.remember_merge(conn, merged_id, survivor)  # so an unmerge can undo it
        await audience.mark_merged(conn, merged.customer_id, merged.merged_id)
        await membership.reevaluate(conn, [merged.merged_id, merged.customer_id])

    @runtime.on(CustomerDeleted)
    async def project_deletion(conn: asyncpg.Connection, env: Envelope) -> None:
        deleted = CustomerDeleted.model_validate(env.data)
        await audience.lock_for_events(conn)
        await audience.mark_deleted(conn, deleted.customer_id)
        await membership.reevaluate(conn, [deleted.customer_id])

    @runtime.on_batch(InteractionRecorded, when=is_a_customer_s_track_call)
    async def project_interactions(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        """A run of customers' track calls, in waves (`customer_changes.in_waves`)."""
        touches = [
            (
                t.customer_id,
                (f"interaction:{t.interaction_id}", t.customer_id, t.name, t.occurred_at),
            )
            for t in map(InteractionRecorded.model_validate, (env.data for env in envs))
            if t.customer_id and t.name  # see is_a_customer_s_track_call
        ]
        await customer_changes.in_waves(
            conn, touches, lambda wave, rules: _record_touches(conn, wave, rules)
        )

    @runtime.on_batch(OrderPlaced, when=names_a_customer)  # an order of nobody: no segment
    async def project_orders(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        """A run of customers' orders, in waves (`customer_changes.in_waves`): each an event
        for segments, and the journeys it starts."""
        orders = [(env.id, OrderPlaced.model_validate(env.data)) for env in envs]
        await customer_changes.in_waves(
            conn,
            [(o.customer_id, (eid, o.customer_id, o)) for eid, o in orders if o.customer_id],
            lambda wave, rules: _apply_orders(conn, wave, rules),
        )

    @runtime.on(TicketStatusChanged)
    async def trigger_satisfaction(conn: asyncpg.Connection, env: Envelope) -> None:
        change = TicketStatusChanged.model_validate(env.data)
        if change.to_status != "resolved" or not change.customer_id:
            return
        await journeys.trigger(
            conn, "ticket_resolved", env.id, change.customer_id, {"ticket_id": change.ticket_id}
        )
