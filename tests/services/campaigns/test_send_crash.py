"""A send interrupted by SIGKILL and resumed by the supervisor mails nobody twice."""

from __future__ import annotations

import os
import signal

from tests.services.campaigns.conftest import SMTP_CONNECTIONS, campaign_to_subscribers
from tests.support.events import eventually


async def test_killed_mid_send_then_resumed_mails_nobody_twice(
    infra, contacts, campaigns, smtp_sink, http, auth, tag
):
    recipients, campaign = await campaign_to_subscribers(
        http, contacts, campaigns, auth, tag, "crash", 24
    )
    assert campaign["recipients"] == len(recipients)

    def delivered() -> int:
        return sum(1 for to in recipients if smtp_sink.to(to))

    await eventually(lambda: delivered() >= 4, timeout=30, interval=0.05)
    os.kill(infra.pid("campaigns"), signal.SIGKILL)  # throttled sender: mid-send for sure
    assert delivered() < len(recipients)

    async def finished() -> dict | None:
        try:
            response = await http.get(
                f"{campaigns}/api/v1/campaigns/{campaign['id']}/stats", headers=auth
            )
        except Exception:  # restarting
            return None
        stats = response.json() if response.status_code == 200 else {}
        return stats if stats.get("pending") == 0 else None

    stats = await eventually(finished, timeout=60, interval=0.5)
    per_recipient = {to: len(smtp_sink.to(to)) for to in recipients}
    assert max(per_recipient.values()) == 1, per_recipient  # nobody twice
    assert stats["delivered"] + stats["unknown"] == len(recipients)
    assert stats["unknown"] <= SMTP_CONNECTIONS  # at most the rows in flight at the kill
    assert delivered() >= stats["delivered"]
