"""Events owned by the sales service, keyed by the customer (`ecrm.sales.*`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from shared.events.base import Event


class AccountCreated(Event):
    owner: ClassVar[str] = "sales"
    aggregate: ClassVar[str] = "account"
    account_id: str
    name: str
    domain: str | None = None

    def key(self) -> str:
        return self.account_id


class DealEvent(Event):
    owner: ClassVar[str] = "sales"
    aggregate: ClassVar[str] = "deal"
    deal_id: str
    customer_id: str

    def key(self) -> str:
        return self.customer_id


class DealCreated(DealEvent):
    name: str
    amount: float
    currency: str
    stage: str
    pipeline_id: str
    account_id: str | None = None
    expected_close: date | None = None


class DealStageChanged(DealEvent):
    from_stage: str
    to_stage: str
    at: datetime


class DealWon(DealEvent):
    amount: float
    currency: str
    at: datetime


class DealLost(DealEvent):
    reason: str
    at: datetime


class ActivityLogged(DealEvent):
    activity_id: str
    kind: str  # note | call | meeting | task
    subject: str
    due_at: datetime | None = None


class LeadQualified(Event):
    owner: ClassVar[str] = "sales"
    aggregate: ClassVar[str] = "lead"
    customer_id: str
    score: float
    threshold: float
    at: datetime


EVENTS = (AccountCreated, DealCreated, DealStageChanged, DealWon, DealLost, ActivityLogged,
          LeadQualified)
