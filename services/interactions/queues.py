"""Interactions' own work queues on /metrics (`ecrm_work_queue`); their rows carry no time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # statements only: the reliability harness reads them without a service
    from shared.service import Runtime

# customers whose metrics the refresher has yet to publish (a customer may have several rows)
METRICS_PENDING = "SELECT count(*), NULL::float8 FROM metrics_pending"
# links whose calls and orders wait for their second attribution pass (`stitch_followup`)
STITCH_FOLLOWUPS = "SELECT count(*), NULL::float8 FROM attribution_followups"


def register(runtime: Runtime) -> None:
    runtime.work_queue("metrics_pending", METRICS_PENDING)
    runtime.work_queue("stitch_followups", STITCH_FOLLOWUPS)
