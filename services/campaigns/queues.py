"""Campaigns' own work queues on /metrics (`ecrm_work_queue`, `..._oldest_seconds`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # statements only: the reliability harness reads them without a service
    from shared.service import Runtime

MAILS_DUE = """
SELECT count(*), extract(epoch FROM now() - min(send_after))::float8
FROM messages WHERE status = 'pending' AND send_after <= now()
"""
# pending again after a refused or failed attempt, whether its next try is due or not
MAILS_RETRYING = (
    "SELECT count(*), NULL::float8 FROM messages WHERE status = 'pending' AND attempts > 0"
)
MAILS_SENDING = """
SELECT count(*), extract(epoch FROM now() - min(claimed_at))::float8
FROM messages WHERE status = 'sending'
"""
CAMPAIGNS_LAUNCHING = """
SELECT count(*), extract(epoch FROM now() - min(launched_at))::float8
FROM campaigns WHERE status = 'launching'
"""
SEGMENTS_BUILDING = """
SELECT count(*), extract(epoch FROM now() - min(building_since))::float8
FROM segments WHERE building_since IS NOT NULL
"""


def register(runtime: Runtime) -> None:
    runtime.work_queue("mails_due", MAILS_DUE)
    runtime.work_queue("mails_retrying", MAILS_RETRYING)
    runtime.work_queue("mails_sending", MAILS_SENDING)
    runtime.work_queue("campaigns_launching", CAMPAIGNS_LAUNCHING)
    runtime.work_queue("segments_building", SEGMENTS_BUILDING)
