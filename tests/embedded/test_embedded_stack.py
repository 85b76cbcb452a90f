"""The whole embedded stack in a subprocess: ready, served through Caddy, stopped cleanly."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import socket
import stat
from collections.abc import Callable
from email.message import EmailMessage

import asyncpg
import httpx
import jwt
import pytest

from ecrm.embedded import postgres, smtp_sink
from ecrm.embedded.stack import EmbeddedStack, check_ports
from ecrm.embedded.supervisor import StartupError
from shared.events.catalogue import all_topics
from shared.kafka_admin import ensure_topics
from shared.settings import Settings
from tests.support.events import eventually

PARTS = {"postgres", "broker", "smtp-sink", "portal", "gateway"}


def _memory_warnings(settings: Settings) -> list[str]:
    """The stack log's warnings that the embedded broker's memory has grown past a threshold."""
    lines = (settings.home / "logs" / "stack.log").read_text().splitlines()
    return [line for line in lines if "broker.memory_high" in line]


def send_mail(port: int) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hi"
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


async def test_a_stack_serves_through_the_gateway_and_stops_without_orphans(
    make_settings: Callable[..., Settings], alive: Callable[[int], bool]
) -> None:
    settings = make_settings(broker_memory_warn_mb=1)  # the broker is past it once started
    stack = EmbeddedStack(settings, services=[]).start()
    try:
        pids = stack.pids()
        assert set(pids) == PARTS and all(alive(pid) for pid in pids.values())
        assert set(stack.info()["pids"]) == PARTS  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=stack.gateway_url, trust_env=False) as http:
            health = await http.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok", "services": {}})
            missing = await http.get("/api/v1/customers")
            assert missing.status_code == 503 and "contacts" in missing.json()["detail"]
        for name in ("admin.token", "write.key"):
            assert stat.S_IMODE((settings.home / name).stat().st_mode) == 0o600
        claims = jwt.decode(stack.admin_token, settings.resolved_signing_key(), ["HS256"])
        assert claims["scopes"] == ["*"]
        assert stack.write_key.startswith("wk_")
        assert await ensure_topics(f"127.0.0.1:{settings.embedded_kafka_port}", all_topics()) == []
        await asyncio.to_thread(send_mail, settings.smtp_sink_port)
        assert len(smtp_sink.read_messages(settings.home / "mail")) == 1
        warned = await eventually(lambda: _memory_warnings(settings), timeout=20)
        assert len(warned) == 1 and "rss_mb=" in warned[0]  # the next one at a doubling
    finally:
        await asyncio.to_thread(stack.stop)
    assert not any(alive(pid) for pid in pids.values())
    assert list((settings.home / "run").glob("*.pid")) == []
    assert not (settings.home / "run" / "stack.json").exists()


async def test_a_restarted_stack_keeps_its_data_and_secrets(
    make_settings: Callable[..., Settings], alive: Callable[[int], bool]
) -> None:
    settings = make_settings()
    dsn = postgres.server_dsn(settings)
    stack = EmbeddedStack(settings, services=[]).start()
    try:
        token, write_key = stack.admin_token, stack.write_key
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)")
        await conn.close()
        with pytest.raises(StartupError, match="already running"):
            EmbeddedStack(settings, services=[], timeout=30).start()
    finally:
        pids = stack.pids()
        assert stack.process is not None
        stack.process.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal does
        assert await asyncio.to_thread(stack.process.wait, 30) == 0
        stack.stop()
    assert not any(alive(pid) for pid in pids.values())
    assert "Traceback" not in (settings.home / "logs" / "stack.log").read_text()

    again = EmbeddedStack(settings, services=[]).start()
    try:
        assert (again.admin_token, again.write_key) == (token, write_key)
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT id FROM kept") == 7
        await conn.close()
    finally:
        await asyncio.to_thread(again.stop)


def test_ports_in_use_are_named() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=f"{port} \\(gateway\\)"):
            check_ports({"gateway": port})
