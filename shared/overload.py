"""Load shedding: past a number of requests in flight, answer 503 with Retry-After at once.

A saturated process that takes every request queues them until each waits seconds, clients time
out and retry, and the retries deepen the queue (the open-loop benchmark past the machine's
capacity: p99 of several seconds, fewer events accepted than at a lower rate). Refusing the
excess at once keeps the accepted requests fast, and costs the refused ones almost nothing;
Segment's and RudderStack's libraries retry a 503 with backoff, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.errors import Problem

RETRY_AFTER_S = 1


class InFlight:
    """Counts the requests a process is working on (one event loop: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self.count >= self.limit:
            raise Problem(
                503,
                "Overloaded",
                f"this process is working on {self.limit} requests; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
