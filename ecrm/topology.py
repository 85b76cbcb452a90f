"""Which services the stack runs and where each listens (internal ports, behind the gateway)."""

from __future__ import annotations

from importlib.util import find_spec

from shared.settings import Settings

# Order matters only for port numbers; every name is a package under services/.
ALL_SERVICES = ("contacts", "interactions", "support", "campaigns", "sales", "analytics")
PORTAL = "portal"  # health aggregation, /docs, /asyncapi


def available_services() -> list[str]:
    """The services that exist in this build (a service is a package with an app module)."""
    return [s for s in ALL_SERVICES if find_spec(f"services.{s}.app") is not None]


def service_port(settings: Settings, name: str) -> int:
    if name == PORTAL:
        return settings.service_port_base
    return settings.service_port_base + 1 + ALL_SERVICES.index(name)


def service_url(settings: Settings, name: str) -> str:
    return f"http://127.0.0.1:{service_port(settings, name)}"
