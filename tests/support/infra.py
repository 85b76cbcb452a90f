"""PostgreSQL and the broker for a test session, and the services as real processes."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ecrm.embedded import broker, postgres
from ecrm.embedded.supervisor import ProcessSpec, Supervisor
from ecrm.ports import free_port, free_port_block
from ecrm.topology import service_port
from shared.auth import issue_token
from shared.http_server import UVICORN_HTTP
from tests.support import containers

SIGNING_KEY = "test-signing-key-" + "x" * 32
WRITE_KEY = "wk_test_write_key"


@dataclass
class Infra:
    home: Path
    server_dsn: str
    bootstrap: str
    port_base: int
    supervisor: Supervisor
    started: dict[str, str] = field(default_factory=dict)
    started_env: dict[str, dict[str, str]] = field(default_factory=dict)
    containers: list = field(default_factory=list)  # testcontainers, when Docker is there

    def dsn(self, service: str) -> str:
        return self.settings().database_dsn(service)

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_")}
        return keep | {
            "ECRM_HOME": str(self.home),
            "ECRM_DATABASE_URL": self.server_dsn,
            "ECRM_KAFKA_BOOTSTRAP": self.bootstrap,
            "ECRM_SIGNING_KEY": SIGNING_KEY,
            "ECRM_WRITE_KEYS": WRITE_KEY,
            "ECRM_SERVICE_PORT_BASE": str(self.port_base),
            "ECRM_SMTP_URL": os.environ.get("ECRM_TEST_SMTP_URL", "smtp://127.0.0.1:1"),
            "ECRM_LOG_LEVEL": "info",
        }

    def settings(self):  # type: ignore[no-untyped-def]
        from shared.settings import Settings

        return Settings(
            home=self.home,
            database_url=self.server_dsn,
            kafka_bootstrap=self.bootstrap,
            signing_key=SIGNING_KEY,
            write_keys=WRITE_KEY,
            service_port_base=self.port_base,
        )

    def token(self, *scopes: str) -> str:
        return issue_token(SIGNING_KEY, scopes or ("*",), "tests", 1)

    async def service(self, name: str, **extra_env: str) -> str:
        """Start the service once per session (supervised: restarted if killed); its base URL.

        Asked again with other settings (an SMTP sink of a test module, say), it is restarted
        with those, so no test depends on which module started it first."""
        if name in self.started:
            if self.started_env.get(name) == extra_env or not extra_env:
                return self.started[name]
            await self.supervisor.remove(name)
            del self.started[name]
        self.started_env[name] = extra_env
        port = service_port(self.settings(), name)
        url = f"http://127.0.0.1:{port}"
        spec = ProcessSpec(
            name=name,
            argv=[
                sys.executable,
                "-m",
                "uvicorn",
                f"services.{name}.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--http",
                UVICORN_HTTP,
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "5",
            ],
            env=self.env() | extra_env,
            ready=lambda: _healthy(url),
            log_path=self.home / "logs" / f"{name}.log",
            ready_timeout=60,
        )
        await self.supervisor.start(spec)
        self.started[name] = url
        return url

    def pid(self, name: str) -> int:
        if self.containers and name in ("postgres", "broker"):
            pytest.skip("this fault needs the embedded servers' processes, not containers")
        return self.supervisor.pids()[name]

    async def stop(self) -> None:
        await self.supervisor.stop()
        for container in self.containers:
            container.stop()


async def _healthy(url: str) -> bool:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/healthz", timeout=2)
        return response.status_code == 200


async def start_infra(home: Path) -> Infra:
    """testcontainers' PostgreSQL and Kafka where a Docker engine answers (or
    ECRM_TEST_INFRA=containers), the embedded servers otherwise (or ECRM_TEST_INFRA=embedded)."""
    supervisor = Supervisor(home / "run", home / "logs")
    if containers.wanted():
        server_dsn, bootstrap, running = await asyncio.to_thread(containers.start)
        await broker.create_topics(bootstrap, 8)
        return Infra(
            home, server_dsn, bootstrap, free_port_block(8), supervisor, containers=running
        )
    from shared.settings import Settings

    settings = Settings(home=home, embedded_pg_port=free_port(), embedded_kafka_port=free_port())
    await supervisor.start(postgres.postgres_spec(settings, postgres.prepare(settings)))
    await supervisor.start(broker.broker_spec(settings))
    return Infra(home, settings.server_dsn, settings.kafka, free_port_block(8), supervisor)
