"""Helpers for the embedded-stack tests: free ports, settings on them, in-process upstreams.

Every test gets its own ECRM_HOME and ports, so the tests run in any order and beside a
running `ecrm up`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psutil
import pytest
import uvicorn
from fastapi import FastAPI

from ecrm.ports import free_port, settings_on_free_ports
from shared.settings import Settings
from tests.support import servers
from tests.support.servers import QuietServer


def embedded_settings(home: Path, **overrides: object) -> Settings:
    """Free ports, and none of the environment's servers, keys or settings."""
    values: dict[str, object] = {
        "database_url": None,
        "kafka_bootstrap": None,
        "smtp_url": None,
        "signing_key": None,
        "write_keys": None,
        "topic_partitions": 3,
    }
    return settings_on_free_ports(home, **(values | overrides))


@pytest.fixture(scope="session")
def make_settings(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """Settings on fresh free ports with a fresh ECRM_HOME on every call."""

    def make(**overrides: object) -> Settings:
        return embedded_settings(tmp_path_factory.mktemp("home"), **overrides)

    return make


class Upstreams:
    """Tiny HTTP apps on given ports, started and stopped inside the test's event loop."""

    def __init__(self) -> None:
        self.running: dict[int, tuple[QuietServer, asyncio.Task[None]]] = {}

    async def start(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.running[port] = await servers.start(config)

    async def stop(self, port: int) -> None:
        server, task = self.running.pop(port)
        server.should_exit = True
        await task

    async def stop_all(self) -> None:
        for port in list(self.running):
            await self.stop(port)


@pytest.fixture(scope="module")
async def upstreams() -> AsyncIterator[Upstreams]:
    running = Upstreams()
    try:
        yield running
    finally:
        await running.stop_all()


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def alive() -> Callable[[int], bool]:
    return pid_alive


@pytest.fixture
def unused_port() -> Callable[[], int]:
    return free_port
