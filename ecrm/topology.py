"""Which services the stack runs and where each listens (internal ports, behind the gateway)."""

from __future__ import annotations

import os
from importlib.util import find_spec

from shared.settings import Settings

# Order matters only for port numbers; every name is a package under services/.
ALL_SERVICES = ("contacts", "interactions", "support", "campaigns", "sales", "analytics")
PORTAL = "portal"  # health aggregation, /docs, /asyncapi


def available_services() -> list[str]:
    """The services that exist in this build (a service is a package with an app module)."""
    return [s for s in ALL_SERVICES if _exists(f"services.{s}.app")]


def _exists(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def service_port(settings: Settings, name: str) -> int:
    if name == PORTAL:
        return settings.service_port_base
    return settings.service_port_base + 1 + ALL_SERVICES.index(name)


def service_url(settings: Settings, name: str) -> str:
    """Where a service listens; `ECRM_UPSTREAM_<NAME>=host:port` (as for the gateway) overrides."""
    override = os.environ.get(f"ECRM_UPSTREAM_{name.upper()}")
    if override:
        return f"http://{override}"
    return f"http://127.0.0.1:{service_port(settings, name)}"
