"""Public routes are rate limited per client: 429 with Retry-After, never a 5xx."""

from __future__ import annotations


async def test_public_link_routes_answer_429_with_retry_after(campaigns, http):
    url = campaigns
    headers = {"X-Forwarded-For": "203.0.113.77"}  # one client, as the gateway reports it
    statuses = [
        (await http.get(f"{url}/t/c/not-a-token", headers=headers)).status_code for _ in range(150)
    ]
    assert set(statuses) <= {400, 429}
    limited = statuses.index(429)
    assert 40 <= limited <= 130  # the burst (60 per worker process) went through first
    response = await http.get(f"{url}/t/c/not-a-token", headers=headers)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"] == "application/problem+json"
    other = await http.get(f"{url}/t/c/not-a-token", headers={"X-Forwarded-For": "203.0.113.78"})
    assert other.status_code == 400  # another client is not affected
