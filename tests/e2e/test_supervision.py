"""A killed service (with its worker processes) is restarted by the stack and serves again."""

from __future__ import annotations

import os
import signal
import uuid

import httpx
import psutil

from tests.support.events import eventually


async def test_sigkilled_multi_worker_service_comes_back(stack, gateway, admin):
    pid = stack.pids()["contacts"]
    workers = psutil.Process(pid).children(recursive=True)
    assert len(workers) >= stack.settings.workers_for("contacts")
    os.kill(pid, signal.SIGKILL)

    async def serving_again() -> bool:
        if stack.pids().get("contacts") in (None, pid):
            return False
        async with httpx.AsyncClient(base_url=gateway, timeout=5) as client:
            email = f"back.{uuid.uuid4().hex[:8]}@example.com"
            response = await client.post("/api/v1/customers", json={"email": email}, headers=admin)
            return response.status_code == 201

    await eventually(serving_again, timeout=60, interval=0.5)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


async def test_every_worker_process_reports_the_services_one_consumer_as_up(stack):
    from ecrm.topology import available_services, service_url

    async def all_up() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            for name in available_services():
                for _ in range(4):  # several worker processes answer in turn
                    health = (
                        await client.get(f"{service_url(stack.settings, name)}/healthz")
                    ).json()
                    if health.get("consumer") not in ("up", "n/a"):
                        return False
        return True

    await eventually(all_up, timeout=60, interval=1)
