"""Customer creates through the gateway with 64 connections (wrk with a Lua body generator)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.ingest import Stream
from bench.raw import wrk

CUSTOMERS = Stream(
    "ecrm.contacts.customer", ("interactions", "campaigns", "support", "sales", "analytics")
)

LUA = """
local counter = 0
local thread_id = 0
local token = "%(token)s"
local run = "%(run)s"
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"email":"bench-%%s-%%d-%%d@example.com","first_name":"Bench","tags":["bench"],"consent":{"email":"subscribed"}}',
    run, tid or 0, counter)
  return wrk.format("POST", "/api/v1/customers",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
"""


def customer_creates(
    gateway_url: str, token: str, seconds: int, connections: int = 64, run_id: str = "r"
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "create.lua"
        script.write_text(LUA % {"token": token, "run": run_id})
        return wrk(f"{gateway_url}/api/v1/customers", seconds, connections, script)
