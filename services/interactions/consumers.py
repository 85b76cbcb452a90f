"""The timeline and metrics, built by consuming: contacts' answers and facts, and every event of
support, campaigns and sales that names a customer. Our own touches (web calls and orders) are
written to the timeline with the call itself, and their figures follow through
`metrics_refresh`: this service does not consume its own interaction stream. A visitor's calls
made before anyone knew who they were reach the timeline when contacts links the visitor."""

from __future__ import annotations

import uuid

import asyncpg

from services.interactions import timeline_domain as entries
from services.interactions import tracking_record
from services.interactions.store import identities, interactions, metrics, orders, timeline
from services.interactions.store.privacy import remember_merge
from shared import outbox
from shared.cloudevents import Envelope
from shared.events.catalogue import all_topics
from shared.events.contacts import CustomerDeleted, CustomersMerged, IdentityLinked
from shared.events.interactions import CustomerMetricsChanged
from shared.service import Runtime

FOREIGN_OWNERS = ("support", "campaigns", "sales")
CONTACTS_TOPIC = IdentityLinked.topic()


def foreign_topics() -> list[str]:
    """Every topic of the services whose events land on the timeline (privacy answers aside)."""
    return [
        t
        for t in all_topics(with_dlq=False)
        if t.split(".")[1] in FOREIGN_OWNERS and not t.endswith(".privacy")
    ]


async def publish_metrics(conn: asyncpg.Connection, customer_ids: set[uuid.UUID]) -> None:
    changed = await metrics.refresh(conn, customer_ids)
    await outbox.add_many(conn, [CustomerMetricsChanged(**m) for m in changed])


async def add_entries(conn: asyncpg.Connection, found: list[entries.Entry]) -> None:
    await publish_metrics(conn, await timeline.add(conn, found))


async def attribute(conn: asyncpg.Connection, kind: str, value: str, customer: uuid.UUID) -> None:
    """The identity's stored touches that belong to nobody yet are the customer's: its calls
    (a visitor or user id) or its orders (an email or loyalty id), with their timeline entries."""
    if kind in ("anonymous_id", "user_id"):
        async for calls in interactions.attach(conn, kind, value, customer):
            await timeline.add(conn, tracking_record.late_entries(calls, customer))
    elif kind in ("email", "loyalty_id"):
        attached = await orders.attach(conn, kind, value, customer)
        await timeline.attach_refs(
            conn, [entries.order_ref(str(r["id"])) for r in attached], customer
        )


def register(runtime: Runtime) -> None:
    @runtime.on_batch(IdentityLinked)
    async def stitch(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        """Without the attribution lock (see `identities`): a touch written by a request that
        read the links before one committed is attributed by the follow-up. The figures of
        the run's customers are published once, after all its links (a sign-in links two or
        three identities, and each refresh waits for the figures' lock)."""
        customers: set[uuid.UUID] = set()
        for env in envs:
            event = IdentityLinked.model_validate(env.data)
            customer = await identities.live_customer(conn, uuid.UUID(event.customer_id))
            if customer is None:
                continue
            kind, value = event.identity.kind, event.identity.value
            await identities.link(conn, kind, value, customer)
            await attribute(conn, kind, value, customer)
            await identities.note_followup(conn, kind, value, customer)
            customers.add(customer)
        await publish_metrics(conn, customers)

    @runtime.on(CustomersMerged)
    async def fold(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersMerged.model_validate(env.data)
        await identities.rewriting_attribution(conn)
        survivor = await identities.resolve(conn, uuid.UUID(event.customer_id))
        await remember_merge(conn, uuid.UUID(event.merged_id), survivor)  # so it can be undone
        await timeline.fold(conn, uuid.UUID(event.merged_id), survivor)
        merged_entry = entries.from_event(env)
        await add_entries(conn, [merged_entry] if merged_entry else [])
        await publish_metrics(conn, {survivor})

    @runtime.on(CustomerDeleted)
    async def forget(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerDeleted.model_validate(env.data)
        await identities.rewriting_attribution(conn)
        await timeline.forget(conn, uuid.UUID(event.customer_id))

    @runtime.on_topic(CONTACTS_TOPIC, *foreign_topics(), batch=True)
    async def add_events(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        await add_entries(conn, [e for e in map(entries.from_event, envs) if e is not None])
