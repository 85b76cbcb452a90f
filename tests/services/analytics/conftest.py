from __future__ import annotations

import asyncio

import pytest

from ecrm.topology import available_services
from tests.support.infra import Infra


@pytest.fixture(scope="session")
async def analytics(infra: Infra) -> str:
    return await infra.service("analytics")


@pytest.fixture(scope="session")
async def analytics_and_contacts(infra: Infra) -> tuple[str, str]:
    analytics, contacts = await asyncio.gather(
        infra.service("analytics"), infra.service("contacts")
    )
    return analytics, contacts


@pytest.fixture(scope="session")
async def stack(infra: Infra) -> dict[str, str]:
    """Every service of this build, as the dashboard of a running stack shows them; one that
    cannot start is simply shown down (analytics itself must start)."""
    names = available_services()
    urls = await asyncio.gather(*(infra.service(n) for n in names), return_exceptions=True)
    started = {n: u for n, u in zip(names, urls, strict=True) if isinstance(u, str)}
    assert "analytics" in started, urls
    return started


@pytest.fixture(scope="session")
def reader(infra: Infra) -> dict[str, str]:
    return {"Authorization": f"Bearer {infra.token('analytics:read', 'ops:read')}"}
