"""The whole embedded stack (every service, the gateway) once per session, on free ports."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrm.embedded.stack import EmbeddedStack
from ecrm.ports import free_port, free_port_block
from shared.settings import Settings


def stack_settings(home: Path) -> Settings:
    return Settings(
        home=home,
        gateway_port=free_port(),
        service_port_base=free_port_block(8),
        embedded_kafka_port=free_port(),
        embedded_pg_port=free_port(),
        smtp_sink_port=free_port(),
        inbound_smtp_port=free_port(),
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[EmbeddedStack]:
    home = Path(tempfile.mkdtemp(prefix="ecrm-e2e-"))
    with EmbeddedStack(stack_settings(home)) as running:
        yield running
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def gateway(stack: EmbeddedStack) -> str:
    return stack.gateway_url


@pytest.fixture
def admin(stack: EmbeddedStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_token}"}
