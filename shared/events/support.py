"""Events owned by the support service (topic `ecrm.support.ticket`), keyed by the customer."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events.base import Event


class TicketEvent(Event):
    owner: ClassVar[str] = "support"
    aggregate: ClassVar[str] = "ticket"
    ticket_id: str
    customer_id: str | None = None  # null until contacts resolved the requester

    def key(self) -> str:
        return self.customer_id or self.ticket_id


class TicketOpened(TicketEvent):
    subject: str
    channel: str  # email | web | api
    priority: str
    requester_email: str | None = None
    opened_at: datetime
    ref: int | None = None  # the human ticket number, `[#ref]` in mail subjects
    follow_up_of: str | None = None  # a reply to a closed ticket opens a follow-up


class TicketAssigned(TicketEvent):
    assignee: str | None = None
    team: str | None = None


class TicketMessageAdded(TicketEvent):
    message_id: str
    author: str
    author_kind: str  # customer | agent
    visibility: str  # public | internal
    channel: str
    body_preview: str = ""
    at: datetime


class TicketStatusChanged(TicketEvent):
    from_status: str
    to_status: str
    at: datetime
    merged_into: str | None = None  # set when the ticket was closed by merging it


class SlaBreached(TicketEvent):
    target: str  # first_response | resolution
    due_at: datetime
    breached_at: datetime


class SatisfactionRated(TicketEvent):
    rating: int
    comment: str | None = None
    at: datetime


EVENTS = (
    TicketOpened,
    TicketAssigned,
    TicketMessageAdded,
    TicketStatusChanged,
    SlaBreached,
    SatisfactionRated,
)
