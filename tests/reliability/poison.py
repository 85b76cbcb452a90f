"""Poison events sent on purpose: malformed JSON with valid CloudEvent headers, straight onto a
topic the services consume. They must be dead-lettered, and be the only dead letters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.cloudevents import headers_for
from shared.events.contacts import IdentityRequest
from tests.reliability.context import RunContext
from tests.support.events import produce


async def send_poison(ctx: RunContext, count: int) -> None:
    topic = IdentityRequest.topic()
    for n in range(count):
        key = f"poison-{ctx.seed}-{n}"
        headers = headers_for(
            uuid.uuid4(), IdentityRequest.ce_type(), "/chaos", datetime.now(UTC), key
        )
        await produce(ctx.stack.settings.kafka, topic, b'{"request_id": "oops', key, headers)
        ctx.ledger.poison_keys.append(key)
