"""Analytics answers the privacy fan-out: it erases and exports what it holds of a person."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events import privacy
from tests.services.analytics import traffic
from tests.services.analytics.publish import caught_up, publish_events
from tests.support.events import wait_for_events


async def test_erasure_and_export_are_answered(infra, analytics):
    campaign = traffic.Campaign(1, datetime.now(UTC))
    await publish_events(infra.bootstrap, [*campaign.launch(), campaign.opened(0)])
    await caught_up(infra.bootstrap)
    message_id, customer_id = campaign.recipients[0]
    now = datetime.now(UTC)

    export_id = traffic.uid()
    await publish_events(
        infra.bootstrap,
        [privacy.ExportRequested(customer_id=customer_id, request_id=export_id, at=now)],
    )
    answers = privacy.ANSWERS["analytics"][0].topic()
    [(_, exported)] = await wait_for_events(
        infra.bootstrap, answers, lambda e: e.data.get("request_id") == export_id
    )
    assert exported.name == "ExportContributed" and exported.data["service"] == "analytics"
    [row] = exported.data["section"]["campaign_messages"]
    assert row["message_id"] == message_id and row["opened_at"] is not None

    erase_id, export_again = traffic.uid(), traffic.uid()
    await publish_events(
        infra.bootstrap,
        [privacy.CustomerErased(customer_id=customer_id, request_id=erase_id, at=now)],
    )
    [(_, erased)] = await wait_for_events(
        infra.bootstrap, answers, lambda e: e.data.get("request_id") == erase_id
    )
    assert erased.name == "ErasureCompleted" and erased.key == customer_id

    await publish_events(
        infra.bootstrap,
        [privacy.ExportRequested(customer_id=customer_id, request_id=export_again, at=now)],
    )
    [(_, after)] = await wait_for_events(
        infra.bootstrap, answers, lambda e: e.data.get("request_id") == export_again
    )
    assert after.data["section"]["campaign_messages"] == []
