"""On the embedded stack, every service (and the portal) answers through the platform's HTTP
protocol, which hands each response to the socket in one write (tests/platform)."""

from __future__ import annotations

import psutil

from ecrm.topology import PORTAL, available_services
from shared.http_server import UVICORN_HTTP


async def test_every_service_is_served_with_the_platform_protocol(stack):
    pids = stack.pids()
    for name in [*available_services(), PORTAL]:
        argv = psutil.Process(pids[name]).cmdline()
        assert argv[argv.index("--http") + 1] == UVICORN_HTTP, (name, argv)
