"""The sender's lanes share one pace: a campaign's mails go out over several connections to the
relay, each once, and never faster than `ECRM_CAMPAIGNS_SEND_RATE`."""

from __future__ import annotations

from services.campaigns.sending.sender import Pace
from tests.services.campaigns.conftest import (
    SEND_RATE,
    SMTP_CONNECTIONS,
    campaign_to_subscribers,
    sink_holds,
)


def test_lanes_asking_together_get_slots_one_interval_apart():
    pace = Pace(10)
    assert [round(pace.take(100.0), 3) for _ in range(3)] == [0.0, 0.1, 0.2]
    assert round(pace.take(100.05), 3) == 0.25  # behind the slots already taken
    assert pace.take(200.0) == 0.0  # an idle spell saves up no burst
    assert round(pace.take(200.0), 3) == 0.1


async def test_a_campaign_goes_out_over_several_connections_at_the_rate(
    contacts, campaigns, smtp_sink, http, auth, tag
):
    recipients, _ = await campaign_to_subscribers(http, contacts, campaigns, auth, tag, "paced", 12)
    await sink_holds(smtp_sink, recipients)

    received = [r for to in recipients for r in smtp_sink.received_by(to)]
    assert len(received) == len(recipients)  # each once
    assert 1 < len({r.peer for r in received}) <= SMTP_CONNECTIONS
    arrivals = sorted(r.at for r in received)
    # Starts are 1/rate apart; a mail's own time to go out moves its arrival by a few ms.
    assert arrivals[-1] - arrivals[0] >= 0.8 * (len(received) - 1) / SEND_RATE
