from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

from shared.settings import Settings


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports (below the kernel's ephemeral range)."""
    for _ in range(200):
        base = random.randrange(20000, 32000)
        if all(port_is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def settings_on_free_ports(home: Path, **overrides: Any) -> Settings:
    """Settings for a stack of its own beside any other (benchmark, test sessions, chaos runs):
    every port it listens on is a free one."""
    values: dict[str, Any] = {
        "home": home,
        "gateway_port": free_port(),
        "service_port_base": free_port_block(8),
        "embedded_kafka_port": free_port(),
        "embedded_pg_port": free_port(),
        "smtp_sink_port": free_port(),
        "inbound_smtp_port": free_port(),
    }
    return Settings(**(values | overrides))
