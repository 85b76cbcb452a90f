"""A fresh embedded stack on free ports, and which services of it answer their API."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from ecrm.embedded.stack import EmbeddedStack
from ecrm.ports import settings_on_free_ports
from ecrm.topology import available_services, service_url

# A cheap authenticated read through the gateway per service: the API answers, not only /healthz.
PROBES = {
    "contacts": "/api/v1/customers?limit=1",
    "interactions": "/api/v1/orders?limit=1",
    "support": "/api/v1/tickets?limit=1",
    "campaigns": "/api/v1/segments?limit=1",
    "sales": "/api/v1/scoring/rules",
}


def fresh_stack() -> EmbeddedStack:
    home = Path(tempfile.mkdtemp(prefix="ecrm-chaos-"))
    settings = settings_on_free_ports(home)
    return EmbeddedStack(settings, available_services())


async def answering(stack: EmbeddedStack, client: httpx.AsyncClient) -> list[str]:
    """The services of this build whose health and API answer."""
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    found = []
    for name in available_services():
        try:
            health = await client.get(f"{service_url(stack.settings, name)}/healthz")
            probe = PROBES.get(name)
            ok = health.status_code == 200 and (
                probe is None
                or (await client.get(f"{stack.gateway_url}{probe}", headers=headers)).is_success
            )
        except httpx.HTTPError:
            ok = False
        if ok:
            found.append(name)
    return found
