"""Schemathesis against every service's OpenAPI document, through the gateway (time-boxed):
generated requests never get a 5xx, and the answers match the documented schemas."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from ecrm.topology import available_services

EXAMPLES = 6


def _headers(stack, path: str) -> dict[str, str]:
    if path.startswith("/v1/"):
        basic = base64.b64encode(f"{stack.write_key}:".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    return {"Authorization": f"Bearer {stack.admin_token}"}


def _fuzz(operation, stack, gateway: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case) -> None:
        response = case.call(base_url=gateway, headers=_headers(stack, operation.path), timeout=15)
        case.validate_response(
            response,
            checks=(not_a_server_error, response_schema_conformance, status_code_conformance),
        )

    run()


@pytest.mark.parametrize("service", available_services())
def test_generated_requests_never_break_a_service(service, stack, gateway):
    schema = schemathesis.openapi.from_url(f"{gateway}/openapi/{service}.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            _fuzz(operation, stack, gateway)
        except Exception as exc:  # collect every failing operation, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
