"""The whole embedded stack (every service, the gateway) once per session, on free ports."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrm.embedded.stack import EmbeddedStack
from ecrm.ports import settings_on_free_ports


@pytest.fixture(scope="session")
def stack() -> Iterator[EmbeddedStack]:
    home = Path(tempfile.mkdtemp(prefix="ecrm-e2e-"))
    with EmbeddedStack(settings_on_free_ports(home)) as running:
        yield running
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def gateway(stack: EmbeddedStack) -> str:
    return stack.gateway_url


@pytest.fixture
def admin(stack: EmbeddedStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_token}"}
