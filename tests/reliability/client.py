"""Client-style retries: the same request re-sent after a timeout, a 5xx or a 429, as
Segment's libraries and any careful API client do, until it is answered or the limit passes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.reliability.ledger import Ledger

RETRY_STATUSES = {429, 500, 502, 503, 504}
GIVE_UP_S = 90.0


async def send(
    client: httpx.AsyncClient,
    ledger: Ledger,
    channel: str,
    method: str,
    url: str,
    give_up_s: float = GIVE_UP_S,
    **kwargs: Any,
) -> tuple[httpx.Response | None, int]:
    """The first final answer (2xx or a 4xx that is not 429) and how many attempts it took;
    None when the limit passed without one."""
    deadline = time.monotonic() + give_up_s
    delay, attempts = 0.2, 0
    while time.monotonic() < deadline:
        attempts += 1
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            ledger.answers[f"{channel} {type(exc).__name__}"] += 1
        else:
            ledger.answers[f"{channel} {response.status_code}"] += 1
            if response.status_code not in RETRY_STATUSES:
                return response, attempts
            delay = max(delay, _retry_after(response))
        ledger.retries[channel] += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    ledger.gave_up[channel] += 1
    return None, attempts


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", "0")), 5.0)
    except ValueError:
        return 0.0
