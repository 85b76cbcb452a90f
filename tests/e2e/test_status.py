"""`ecrm status` on a running stack: every part's health, and what the broker holds (the
embedded broker keeps every event in memory, so the operator can watch it grow)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from typing import Any

import httpx

from bench import payloads
from ecrm.embedded.stack import EmbeddedStack, inherited_env
from tests.support.events import eventually


def _status(stack: EmbeddedStack) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "ecrm.cli", "status", "--json"],
        env=inherited_env(stack.settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(result.stdout)


async def test_status_names_every_part_and_counts_the_events_the_broker_holds(stack):
    code, before = _status(stack)
    assert code == 0 and before["healthy"] is True, before
    assert before["gateway"]["http"] == 200 and before["database"] == "up"
    assert {s["status"] for s in before["services"].values()} == {"ok"}
    broker = before["broker"]
    assert broker["status"] == "up"
    assert isinstance(broker["events_held"], int) and broker["events_held"] >= 0
    assert broker["memory_mb"] > 0  # this home runs the embedded broker

    body = payloads.batch(50, random.Random(11))
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        sent = await client.post("/v1/batch", json=body, auth=(stack.write_key, ""))
    assert sent.status_code == 200, sent.text

    def held() -> bool:  # relayed to the broker shortly after the answer
        return _status(stack)[1]["broker"]["events_held"] >= broker["events_held"] + 50

    await eventually(held, timeout=60)
