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
    industry: str | None = None
    size: str | None = None
    owned_by: str | None = None  # the sales rep (the API calls it `owner`)

    def key(self) -> str:
        return self.account_id


class AccountUpdated(AccountCreated):
    """The account's full state after a change; `changed` names the fields that changed."""

    changed: list[str] = []


class DealEvent(Event):
    owner: ClassVar[str] = "sales"
    aggregate: ClassVar[str] = "deal"
    deal_id: str
    customer_id: str

    def key(self) -> str:
        return self.customer_id


class DealCreated(DealEvent):
    """A deal entered its pipeline's first stage."""

    name: str
    amount: float
    currency: str
    stage: str
    pipeline_id: str
    account_id: str | None = None
    expected_close: date | None = None
    owned_by: str | None = None  # the sales rep (the API calls it `owner`)
    probability: float | None = None  # the win probability of the stage


class DealStageChanged(DealEvent):
    from_stage: str
    to_stage: str
    at: datetime
    pipeline_id: str | None = None
    name: str | None = None  # the deal's name, for timelines
    probability: float | None = None  # the win probability of the stage entered


class DealWon(DealEvent):
    amount: float
    currency: str
    at: datetime
    name: str | None = None
    pipeline_id: str | None = None


class DealLost(DealEvent):
    reason: str
    at: datetime
    name: str | None = None
    pipeline_id: str | None = None
    amount: float | None = None
    currency: str | None = None


class ActivityLogged(DealEvent):
    activity_id: str
    kind: str  # note | call | meeting | task
    subject: str
    due_at: datetime | None = None
    at: datetime | None = None  # when it was logged
    deal_name: str | None = None


class LeadQualified(Event):
    """The customer's lead score reached the qualification threshold (once per customer)."""

    owner: ClassVar[str] = "sales"
    aggregate: ClassVar[str] = "lead"
    customer_id: str
    score: float
    threshold: float
    at: datetime


EVENTS = (
    AccountCreated,
    DealCreated,
    DealStageChanged,
    DealWon,
    DealLost,
    ActivityLogged,
    LeadQualified,
    AccountUpdated,
)
