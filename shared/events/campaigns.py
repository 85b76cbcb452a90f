"""Events owned by the campaigns service: segments (`ecrm.campaigns.segment`), campaigns
(`ecrm.campaigns.campaign`) and messages (`ecrm.campaigns.message`)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from shared.events.base import Event


class SegmentMembershipChanged(Event):
    owner: ClassVar[str] = "campaigns"
    aggregate: ClassVar[str] = "segment"
    segment_id: str
    customer_id: str
    change: Literal["entered", "left"]
    at: datetime


class CampaignLaunched(Event):
    owner: ClassVar[str] = "campaigns"
    aggregate: ClassVar[str] = "campaign"
    campaign_id: str
    name: str
    segment_id: str
    recipients: int
    at: datetime

    def key(self) -> str:
        return self.campaign_id


class MessageEvent(Event):
    owner: ClassVar[str] = "campaigns"
    aggregate: ClassVar[str] = "message"
    message_id: str
    customer_id: str
    campaign_id: str | None = None
    journey_id: str | None = None
    at: datetime


class MessageSent(MessageEvent):
    subject: str


class MessageOpened(MessageEvent):
    pass


class LinkClicked(MessageEvent):
    url: str


class MessageBounced(MessageEvent):
    permanent: bool
    reason: str


EVENTS = (
    SegmentMembershipChanged,
    CampaignLaunched,
    MessageSent,
    MessageOpened,
    LinkClicked,
    MessageBounced,
)


class UnsubscribeRequested(Event):
    """A recipient asked to stop receiving email (one-click List-Unsubscribe or the confirmation
    page). Contacts applies it to the customer's consent (ConsentChanged to `unsubscribed`).
    Topic `ecrm.campaigns.consent`, keyed by the customer id."""

    owner: ClassVar[str] = "campaigns"
    aggregate: ClassVar[str] = "consent"
    customer_id: str
    channel: str = "email"
    state: Literal["unsubscribed"] = "unsubscribed"
    source: str = "unsubscribe_link"
    email: str | None = None
    message_id: str | None = None
    campaign_id: str | None = None
    journey_id: str | None = None
    at: datetime


class SubscriptionConfirmed(Event):
    """A customer whose email consent was `pending` confirmed it, through the link of the mail a
    `consent_pending` journey sent (double opt-in). Contacts applies it while the consent is
    still pending (ConsentChanged to `subscribed`, source `double_opt_in`).
    Topic `ecrm.campaigns.consent`, keyed by the customer id."""

    owner: ClassVar[str] = "campaigns"
    aggregate: ClassVar[str] = "consent"
    customer_id: str
    channel: str = "email"
    email: str | None = None
    message_id: str
    journey_id: str | None = None
    at: datetime


REQUESTS = (UnsubscribeRequested, SubscriptionConfirmed)
