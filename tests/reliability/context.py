"""What every workload and fault shares: the stack, the ledger, a seeded random source."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import httpx

from ecrm.embedded.stack import EmbeddedStack
from tests.reliability.ledger import Ledger


@dataclass
class RunContext:
    stack: EmbeddedStack
    seed: int
    rng: random.Random
    client: httpx.AsyncClient
    services: list[str]  # present and answering
    duration: float  # seconds of load
    ledger: Ledger = field(default_factory=Ledger)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def tag(self) -> str:
        return f"chaos-{self.seed}"

    @property
    def url(self) -> str:
        return self.stack.gateway_url

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.admin_token}"}

    def has(self, service: str) -> bool:
        return service in self.services

    async def pause(self, low: float, high: float) -> bool:
        """Sleep a random while; False once the load must stop."""
        try:
            await asyncio.wait_for(self.stop.wait(), self.rng.uniform(low, high))
        except TimeoutError:
            return True
        return False
