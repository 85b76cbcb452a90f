"""Producing other services' events onto the real broker, as CloudEvents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.cloudevents import headers_for
from shared.events.base import Event
from shared.events.interactions import InteractionRecorded
from tests.support.events import produce


async def publish(bootstrap: str, event: Event, event_id: uuid.UUID | None = None) -> uuid.UUID:
    """Produce `event` as its owner would; give the same `event_id` again to replay it."""
    event_id = event_id or uuid.uuid4()
    headers = headers_for(
        event_id, event.ce_type(), f"/ecrm/{event.owner}", datetime.now(UTC), event.ce_subject()
    )
    await produce(bootstrap, event.topic(), event.model_dump(mode="json"), event.key(), headers)
    return event_id


def tracked(customer_id: str | None, name: str, **extra: object) -> InteractionRecorded:
    return InteractionRecorded(
        interaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        kind="track",
        name=name,
        anonymous_id=None if customer_id else f"anon-{uuid.uuid4().hex}",
        occurred_at=datetime.now(UTC),
        **extra,
    )


def viewed(customer_id: str, path: str) -> InteractionRecorded:
    return InteractionRecorded(
        interaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        kind="page",
        path=path,
        occurred_at=datetime.now(UTC),
    )
