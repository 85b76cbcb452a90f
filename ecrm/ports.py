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


# Below the kernel's ephemeral range (32768-60999 by default). A port the kernel hands out for
# port 0 comes from that range, where any outgoing connection may take it before the server it
# was chosen for binds it: a test stack's SMTP sink once found its port so taken.
LOWEST, HIGHEST = 20000, 32000
_handed_out: set[int] = set()  # never the same port twice from this process


def free_port() -> int:
    return free_port_block(1)


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports, none handed out before by this process."""
    for _ in range(200):
        ports = range(base := random.randrange(LOWEST, HIGHEST - size), base + size)
        if _handed_out.isdisjoint(ports) and all(port_is_free(p) for p in ports):
            _handed_out.update(ports)
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
