"""Contacts' own work queues on /metrics (`ecrm_work_queue`, `..._oldest_seconds`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # statements only: the reliability harness reads them without a service
    from shared.service import Runtime

# erasures and exports still waiting for the answer of a service they expect
PRIVACY_REQUESTS_OPEN = """
SELECT count(*), extract(epoch FROM now() - min(requested_at))::float8
FROM privacy_requests WHERE completed_at IS NULL
"""


def register(runtime: Runtime) -> None:
    runtime.work_queue("privacy_requests_open", PRIVACY_REQUESTS_OPEN)
