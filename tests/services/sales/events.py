"""Producing other services' events onto the real broker, as CloudEvents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.events.interactions import InteractionRecorded


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
