"""Every protected operation of every service, read from its own OpenAPI document through the
gateway: 401 with no token, a tampered token or an expired one, 403 with a valid token that
lacks the scope, and both before any validation or lookup (the body sent is garbage and the ids
do not exist)."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import jwt

from ecrm.topology import available_services
from shared.auth import issue_token

METHODS = ("get", "post", "put", "patch", "delete")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def _operations(client: httpx.AsyncClient) -> list[tuple[str, str, str, str]]:
    found = []
    for service in available_services():
        doc = (await client.get(f"/openapi/{service}.json")).json()
        for path, item in doc["paths"].items():
            for method in METHODS:
                scope = item.get(method, {}).get("x-required-scope")
                if scope:
                    found.append((service, method.upper(), _concrete(path), scope))
    return found


async def test_every_protected_operation_refuses_before_validation(stack, gateway):
    key = (stack.home / "signing.key").read_text().strip()
    valid = issue_token(key, ["*"], "e2e", 1)
    head, payload, signature = valid.split(".")
    tampered = f"{head}.{payload}.{signature[::-1]}"
    expired = jwt.encode(
        {"sub": "e2e", "scopes": ["*"], "exp": int(time.time()) - 60, "jti": "x"},
        key,
        algorithm="HS256",
    )
    async with httpx.AsyncClient(base_url=gateway, timeout=15) as client:
        operations = await _operations(client)
        assert len(operations) > 40, "every service publishes its protected operations"
        assert {s for s, *_ in operations} == set(available_services())
        failures = []
        for service, method, path, scope in operations:
            other_scope = issue_token(key, ["nothing:read"], "e2e", 1)
            cases = [(None, 401), (tampered, 401), (expired, 401), (other_scope, 403)]
            for token, expected in cases:
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                response = await client.request(method, path, content=b"{not json", headers=headers)
                if response.status_code != expected or not response.headers.get(
                    "content-type", ""
                ).startswith("application/problem+json"):
                    failures.append((service, method, path, scope, expected, response.status_code))
        assert not failures, failures[:20]
