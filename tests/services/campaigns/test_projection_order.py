"""The audience takes a customer's events in any order contacts and interactions send them:
figures that arrive before contacts' snapshot are kept on a placeholder row and survive it, and
a consent change after the snapshot is merged into it. Membership follows each change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.events.contacts import ConsentChanged, CustomerCreated
from shared.events.interactions import CustomerMetricsChanged
from tests.services.campaigns.conftest import address, members, new_segment
from tests.support.events import eventually, publish


async def test_figures_before_the_snapshot_and_consent_after_it_both_count(
    infra, campaigns, http, auth, tag
):
    rule = {"all": [{"tag": tag}, {"metric": "total_spent", "op": "gte", "value": 100}]}
    spenders = await new_segment(http, campaigns, auth, rule)
    mailable = await new_segment(http, campaigns, auth, {"all": [rule, {"consent": "email"}]})
    customer_id = str(uuid.uuid4())

    await publish(
        infra.bootstrap,
        CustomerMetricsChanged(customer_id=customer_id, orders_count=2, total_spent=150),
    )
    await publish(
        infra.bootstrap, CustomerCreated(customer_id=customer_id, email=address(), tags=[tag])
    )

    async def in_spenders() -> bool:
        return customer_id in await members(http, campaigns, auth, spenders["id"])

    await eventually(in_spenders, timeout=30)
    assert customer_id not in await members(http, campaigns, auth, mailable["id"])

    consent = ConsentChanged(
        customer_id=customer_id,
        channel="email",
        state="subscribed",
        source="test",
        at=datetime.now(UTC),
    )
    await publish(infra.bootstrap, consent)

    async def in_mailable() -> bool:
        return customer_id in await members(http, campaigns, auth, mailable["id"])

    await eventually(in_mailable, timeout=30)
    assert customer_id in await members(http, campaigns, auth, spenders["id"])
