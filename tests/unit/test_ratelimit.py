import pytest

from shared.errors import Problem
from shared.ratelimit import TokenBuckets, enforce


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0  # another client has its own bucket
    clock.now = 0.5
    assert buckets.take("a") == 0


def test_over_the_limit_is_429_with_retry_after():
    buckets = TokenBuckets(rate=1, burst=1, clock=Clock())
    enforce(buckets, "k")
    with pytest.raises(Problem) as err:
        enforce(buckets, "k", cost=3)
    assert err.value.status == 429
    assert err.value.headers["Retry-After"] == "3"
