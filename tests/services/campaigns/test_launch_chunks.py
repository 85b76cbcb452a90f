"""A launch finds its recipients in the background, `ECRM_CAMPAIGNS_LAUNCH_CHUNK` segment members
a transaction (4 here): a segment of several chunks gets each subscribed member's mail once,
and the campaign is `launched`, with its recipients and one CampaignLaunched, after the last."""

from __future__ import annotations

import uuid

from tests.services.campaigns.conftest import (
    LAUNCH_CHUNK,
    address,
    campaign_to_subscribers,
    new_customer,
    sink_holds,
)
from tests.support.events import read_topic


async def test_a_segment_of_several_chunks_is_launched_whole_and_once(
    infra, contacts, campaigns, smtp_sink, http, auth, tag
):
    unsubscribed = address("chunkless")
    await new_customer(
        http, contacts, auth, email=unsubscribed, tags=[tag], consent={"email": "unsubscribed"}
    )
    count = 2 * LAUNCH_CHUNK + 2  # three chunks, the last one short
    recipients, campaign = await campaign_to_subscribers(
        http, contacts, campaigns, auth, tag, "chunk", count, extra_members=1
    )
    assert campaign["recipients"] == count and campaign["launched_at"]
    await sink_holds(smtp_sink, recipients)
    assert all(len(smtp_sink.to(to)) == 1 for to in recipients)
    assert smtp_sink.to(unsubscribed) == []
    events = await read_topic(infra.bootstrap, "ecrm.campaigns.campaign")
    launches = [e for _, e in events if e is not None and e.data["campaign_id"] == campaign["id"]]
    assert [(e.name, e.data["recipients"]) for e in launches] == [("CampaignLaunched", count)]

    # the messages list, three at a time: every recipient once, in customer order
    listed, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await http.get(
            f"{campaigns}/api/v1/campaigns/{campaign['id']}/messages", params=params, headers=auth
        )
        assert response.status_code == 200, response.text
        listed += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(m["email"] for m in listed) == sorted(recipients)
    customers = [m["customer_id"] for m in listed]
    assert customers == sorted(customers, key=uuid.UUID) and len(set(customers)) == count
