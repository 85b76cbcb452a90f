"""Support's own work queues on /metrics (`ecrm_work_queue`, `..._oldest_seconds`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # statements only: the reliability harness reads them without a service
    from shared.service import Runtime

REPLIES_DUE = """
SELECT count(*), extract(epoch FROM now() - min(next_attempt_at))::float8
FROM outgoing_mail WHERE status = 'pending' AND next_attempt_at <= now()
"""
# pending again after a refused or failed attempt, whether its next try is due or not
REPLIES_RETRYING = (
    "SELECT count(*), NULL::float8 FROM outgoing_mail WHERE status = 'pending' AND attempts > 0"
)


def register(runtime: Runtime) -> None:
    runtime.work_queue("replies_due", REPLIES_DUE)
    runtime.work_queue("replies_retrying", REPLIES_RETRYING)
