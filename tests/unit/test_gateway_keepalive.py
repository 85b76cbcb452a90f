"""The gateway lets an idle upstream connection go before the service does.

When a service closes a keep-alive connection at the moment the gateway writes a request on it,
the request fails with a 502 that the gateway cannot retry for a POST: "connection reset by
peer", reproduced at about 1 in 3,000-9,000 calls spaced by the service's keep-alive timeout
(bench/RESULTS.md, run 52). With the gateway's idle timeout the shorter one, the gateway closes
first and that race cannot happen.
"""

from __future__ import annotations

import re
from pathlib import Path

import uvicorn
import yaml

from ecrm.embedded.stack import uvicorn_spec
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def _seconds(duration: str) -> float:
    value, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def _gateway_idle_s() -> float:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    found = re.findall(r"^\s*keepalive\s+(\S+)\s*$", caddyfile, re.MULTILINE)
    assert len(found) == 1, "one upstream transport, one idle timeout"
    return _seconds(found[0])


def _keep_alive_s(argv: list[str]) -> float:
    if "--timeout-keep-alive" in argv:
        return float(argv[argv.index("--timeout-keep-alive") + 1])
    return float(uvicorn.Config(app="unused").timeout_keep_alive)


def test_the_embedded_services_keep_idle_connections_longer_than_the_gateway(tmp_path):
    argv = uvicorn_spec(Settings(home=tmp_path), "contacts", "services.contacts.app:app", {}).argv
    assert _gateway_idle_s() < _keep_alive_s(argv)


def test_the_compose_services_keep_idle_connections_longer_than_the_gateway():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = [s["command"] for s in services.values() if "uvicorn" in s.get("command", [])]
    assert commands, "the compose services run uvicorn"
    for command in commands:
        assert _gateway_idle_s() < _keep_alive_s(command), command
