from __future__ import annotations

import uuid

import pytest

from tests.support.infra import Infra


@pytest.fixture(scope="session")
async def sales(infra: Infra) -> str:
    return await infra.service("sales")


@pytest.fixture(scope="session")
async def contacts(infra: Infra) -> str:
    return await infra.service("contacts")


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def company() -> str:
    """A company domain no other test uses."""
    return f"acme-{uuid.uuid4().hex[:10]}.example"
