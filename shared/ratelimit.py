"""Token-bucket rate limits for public and tracking routes: 429 with Retry-After.

Buckets live in each service process (with several worker processes, each keeps its own, so the
effective limit is that many times higher), keyed by client address (the first
`X-Forwarded-For` hop the gateway adds) or by write key. A limit is `rate` requests per second
with bursts up to `burst`: `ECRM_RATE_PUBLIC` (20/60) and `ECRM_RATE_TRACKING` (1000/2000).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

from shared.errors import Problem

MAX_KEYS = 50_000


class TokenBuckets:
    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when allowed; otherwise the seconds to wait before `cost` tokens are there."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= cost:
            self._store(key, (tokens - cost, now))
            return 0.0
        self._store(key, (tokens, now))
        return (cost - tokens) / self.rate

    def _store(self, key: str, value: tuple[float, float]) -> None:
        self._buckets[key] = value
        if len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)


def client_address(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def enforce(buckets: TokenBuckets, key: str, cost: float = 1.0) -> None:
    wait = buckets.take(key, cost)
    if wait > 0:
        raise Problem(
            429,
            "Too many requests",
            "slow down and retry after the indicated time",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def limit_public(request: Request) -> None:
    """Dependency for token-less routes (pixels, links, self-service): per client address."""
    enforce(_buckets(request, "public"), client_address(request))


def limit_tracking(request: Request, write_key: str) -> None:
    """For the tracking API, once the write key is known: per write key."""
    enforce(_buckets(request, "tracking"), write_key)


def _buckets(request: Request, kind: str) -> TokenBuckets:
    state = request.app.state
    name = f"rate_{kind}_buckets"
    buckets = getattr(state, name, None)
    if buckets is None:
        settings = state.runtime.settings
        buckets = TokenBuckets(*settings.rate(getattr(settings, f"rate_{kind}")))
        setattr(state, name, buckets)
    return buckets
