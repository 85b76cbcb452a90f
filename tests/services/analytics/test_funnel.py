"""The campaign funnel: each message counts once per stage, whatever repeats or arrives late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.services.analytics import traffic
from tests.services.analytics.publish import caught_up, publish, publish_events, record
from tests.support.events import eventually


async def test_funnel_counts_each_message_once_per_stage(infra, analytics, http, reader):
    at = datetime.now(UTC) - timedelta(hours=3)
    campaign = traffic.Campaign(6, at, name="Spring launch")
    reactions = [
        campaign.opened(0),
        campaign.opened(0, minutes=9),  # opened twice: one open
        campaign.opened(1),
        campaign.clicked(1),
        campaign.clicked(1, minutes=12),
        campaign.clicked(2),  # a click with the pixel blocked still proves an open
        campaign.opened(3),
        campaign.bounced(5),
        campaign.unsubscribed(3),  # a consent change in contacts, attributed to the last mail
    ]
    # the reactions first: topics are read independently, a send can arrive after its open
    await publish_events(infra.bootstrap, reactions)
    await caught_up(infra.bootstrap)
    await publish_events(infra.bootstrap, campaign.launch())
    url = f"{analytics}/api/v1/analytics/funnel/{campaign.id}"
    expected = {
        "sent": 6,
        "delivered": 5,
        "opened": 4,
        "clicked": 2,
        "unsubscribed": 1,
        "bounced": 1,
    }

    async def figures() -> dict | None:
        response = await http.get(url, headers=reader)
        if response.status_code != 200:
            return None
        body = response.json()
        return body if {k: body[k] for k in expected} == expected else None

    body = await eventually(figures, timeout=30)
    assert body["name"] == "Spring launch" and body["recipients"] == 6
    assert body["rates"] == {
        "open": 0.8,
        "click": 0.4,
        "click_to_open": 0.5,
        "unsubscribe": 0.2,
        "bounce": round(1 / 6, 4),
    }

    # the same person unsubscribing again and redelivered events change nothing;
    # another recipient's open and unsubscribe count once each
    again = [
        record(campaign.unsubscribed(3, minutes=30)),
        record(campaign.opened(4)),
        record(campaign.unsubscribed(4, minutes=8)),
    ]
    await publish(infra.bootstrap, again + again)
    await caught_up(infra.bootstrap)
    body = (await http.get(url, headers=reader)).json()
    assert body["opened"] == 5 and body["unsubscribed"] == 2

    listed = (
        await http.get(f"{analytics}/api/v1/analytics/funnel?limit=100", headers=reader)
    ).json()
    mine = next(c for c in listed["items"] if c["campaign_id"] == campaign.id)
    assert mine["sent"] == 6 and mine["clicked"] == 2
    assert listed["totals"]["sent"] >= 6


async def test_funnel_lists_campaigns_newest_first_with_a_cursor(infra, analytics, http, reader):
    base = datetime.now(UTC) - timedelta(days=2)
    campaigns = [traffic.Campaign(1, base + timedelta(minutes=i), name=f"c{i}") for i in range(3)]
    await publish_events(infra.bootstrap, [e for c in campaigns for e in c.launch()])
    await caught_up(infra.bootstrap)
    url = f"{analytics}/api/v1/analytics/funnel"
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = (await http.get(url, params=params, headers=reader)).json()
        seen.extend(c["campaign_id"] for c in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    mine = [c.id for c in reversed(campaigns)]
    assert [s for s in seen if s in mine] == mine
    assert len(seen) == len(set(seen))

    bad = await http.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=reader)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    unknown = await http.get(f"{url}/{traffic.uid()}", headers=reader)
    assert unknown.status_code == 404


async def test_journey_messages_have_their_own_funnel(infra, analytics, http, reader):
    from shared.events.campaigns import MessageOpened, MessageSent

    journey, at = traffic.uid(), datetime.now(UTC) - timedelta(minutes=30)
    sent = [
        MessageSent(
            message_id=traffic.uid(),
            customer_id=traffic.uid(),
            journey_id=journey,
            subject="Welcome",
            at=at,
        )
        for _ in range(3)
    ]
    opened = MessageOpened(
        message_id=sent[0].message_id,
        customer_id=sent[0].customer_id,
        journey_id=journey,
        at=at + timedelta(minutes=1),
    )
    await publish_events(infra.bootstrap, [*sent, opened])

    async def journey_figures() -> dict | None:
        body = (await http.get(f"{analytics}/api/v1/analytics/funnel", headers=reader)).json()
        found = [j for j in body["journeys"] if j["journey_id"] == journey]
        return found[0] if found and found[0]["opened"] == 1 else None

    figures = await eventually(journey_figures, timeout=30)
    assert figures["sent"] == 3 and figures["rates"]["open"] == round(1 / 3, 4)
