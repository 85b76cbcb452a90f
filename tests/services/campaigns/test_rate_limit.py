"""Public routes are rate limited per client: 429 with Retry-After, never a 5xx."""

from __future__ import annotations

import time

BURST, RATE = 60, 20  # ECRM_RATE_PUBLIC's default, one service process


async def test_public_link_routes_answer_429_with_retry_after(campaigns, http):
    url = campaigns
    headers = {"X-Forwarded-For": "203.0.113.77"}  # one client, as the gateway reports it
    started = time.monotonic()
    responses = [await http.get(f"{url}/t/c/not-a-token", headers=headers) for _ in range(150)]
    elapsed = time.monotonic() - started
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {400, 429}
    limited = statuses.index(429)
    # The burst goes through first; tokens refilled while the loop ran may let a few more in.
    assert BURST <= limited <= BURST + RATE * elapsed + 1
    refused = responses[limited]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert statuses.count(429) >= 150 - limited - RATE * elapsed - 1
    other = await http.get(f"{url}/t/c/not-a-token", headers={"X-Forwarded-For": "203.0.113.78"})
    assert other.status_code == 400  # another client is not affected
