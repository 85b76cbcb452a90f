"""Realistic events of every channel, built from the contracts (shared/events)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared.events.base import Event
from shared.events.campaigns import (
    CampaignLaunched,
    LinkClicked,
    MessageBounced,
    MessageOpened,
    MessageSent,
)
from shared.events.contacts import ConsentChanged, CustomerCreated
from shared.events.interactions import InteractionRecorded, OrderLine, OrderPlaced
from shared.events.support import (
    SatisfactionRated,
    SlaBreached,
    TicketMessageAdded,
    TicketOpened,
    TicketStatusChanged,
)


def uid() -> str:
    return str(uuid.uuid4())


def touches(n: int, channel: str, at: datetime) -> list[Event]:
    kinds = ["page", "track", "screen" if channel == "mobile" else "identify"]
    return [
        InteractionRecorded(
            interaction_id=uid(),
            customer_id=uid(),
            channel=channel,
            kind=kinds[i % 3],
            name="Product Viewed" if i % 3 == 1 else "Home",
            path="/",
            occurred_at=at,
        )
        for i in range(n)
    ]


def orders(n: int, channel: str, at: datetime, total: float, currency: str = "EUR") -> list[Event]:
    return [
        OrderPlaced(
            order_id=f"o-{uid()[:8]}",
            store_id="paris-1" if channel == "store" else "web-shop",
            customer_id=uid(),
            channel=channel,
            currency=currency,
            total=total,
            lines=[OrderLine(sku="SKU-1", name="Mug", quantity=2, unit_price=total / 2)],
            placed_at=at,
        )
        for _ in range(n)
    ]


def customers(n: int) -> list[Event]:
    return [
        CustomerCreated(
            customer_id=uid(), email=f"c{uid()[:8]}@example.com", consent={"email": "subscribed"}
        )
        for _ in range(n)
    ]


class Campaign:
    """A campaign to `size` recipients and what they did with the mail."""

    def __init__(self, size: int, at: datetime, name: str = "Winter sale") -> None:
        self.id, self.at, self.name = uid(), at, name
        self.recipients = [(uid(), uid()) for _ in range(size)]  # (message id, customer id)

    def launch(self) -> list[Event]:
        sent = [
            MessageSent(
                message_id=m, customer_id=c, campaign_id=self.id, subject="Sale", at=self.at
            )
            for m, c in self.recipients
        ]
        launch = CampaignLaunched(
            campaign_id=self.id,
            name=self.name,
            segment_id=uid(),
            recipients=len(self.recipients),
            at=self.at,
        )
        return [launch, *sent]

    def _kw(self, i: int, minutes: int) -> dict:
        m, c = self.recipients[i]
        return {
            "message_id": m,
            "customer_id": c,
            "campaign_id": self.id,
            "at": self.at + timedelta(minutes=minutes),
        }

    def opened(self, i: int, minutes: int = 5) -> MessageOpened:
        return MessageOpened(**self._kw(i, minutes))

    def clicked(self, i: int, minutes: int = 6) -> LinkClicked:
        return LinkClicked(url="https://shop.example.com/sale", **self._kw(i, minutes))

    def bounced(self, i: int) -> MessageBounced:
        return MessageBounced(permanent=True, reason="550 no such user", **self._kw(i, 1))

    def unsubscribed(self, i: int, minutes: int = 7) -> ConsentChanged:
        _, c = self.recipients[i]
        return ConsentChanged(
            customer_id=c,
            channel="email",
            state="unsubscribed",
            source="unsubscribe_link",
            at=self.at + timedelta(minutes=minutes),
        )


def ticket(
    opened_at: datetime,
    channel: str = "email",
    *,
    response_after: timedelta | None = None,
    resolved_after: timedelta | None = None,
    breach: bool = False,
    rating: int | None = None,
) -> list[Event]:
    """One ticket's life: opened, the customer's first mail, an agent's reply, resolution..."""
    tid, cid = uid(), uid()
    base = {"ticket_id": tid, "customer_id": cid}
    events: list[Event] = [
        TicketOpened(
            subject="Where is my order?",
            channel=channel,
            priority="normal",
            requester_email="ada@example.com",
            opened_at=opened_at,
            **base,
        ),
        TicketMessageAdded(
            message_id=uid(),
            author="ada@example.com",
            author_kind="customer",
            visibility="public",
            channel=channel,
            at=opened_at,
            **base,
        ),
    ]
    if response_after is not None:
        events.append(
            TicketMessageAdded(
                message_id=uid(),
                author="agent@shop",
                author_kind="agent",
                visibility="internal",
                channel="api",
                at=opened_at + response_after / 2,
                **base,
            )
        )  # a note is no response
        events.append(
            TicketMessageAdded(
                message_id=uid(),
                author="agent@shop",
                author_kind="agent",
                visibility="public",
                channel="api",
                at=opened_at + response_after,
                **base,
            )
        )
    if breach:
        events.append(
            SlaBreached(
                target="first_response",
                due_at=opened_at,
                breached_at=opened_at + timedelta(hours=1),
                **base,
            )
        )
    if resolved_after is not None:
        events.append(
            TicketStatusChanged(
                from_status="open", to_status="resolved", at=opened_at + resolved_after, **base
            )
        )
    if rating is not None:
        done = opened_at + (resolved_after or timedelta(hours=2)) + timedelta(minutes=10)
        events.append(SatisfactionRated(rating=rating, at=done, **base))
    return events
