from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.infra import WRITE_KEY, Infra


@pytest.fixture(scope="session")
async def contacts(infra: Infra) -> str:
    return await infra.service("contacts")


@pytest.fixture(scope="session")
async def interactions(infra: Infra) -> str:
    return await infra.service("interactions")


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


def basic(key: str = WRITE_KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def write_auth() -> dict[str, str]:
    return basic()


@pytest.fixture
def email() -> str:
    return f"grace.{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
async def db(infra: Infra, interactions: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(infra.dsn("interactions"))
    try:
        yield conn
    finally:
        await conn.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
