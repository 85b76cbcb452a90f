"""Events owned by the interactions service (the web and store channels, the timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from shared.events.base import Event


class InteractionEvent(Event):
    owner: ClassVar[str] = "interactions"
    aggregate: ClassVar[str] = "interaction"


class InteractionRecorded(InteractionEvent):
    """A touch of a known customer ingested from the web channel (track, page, screen, identify,
    group, alias). A visitor's touch before any customer is linked is VisitorInteractionRecorded.

    `name` is the track event name (e.g. "Order Completed") or the page/screen name.
    """

    interaction_id: str
    customer_id: str | None = None
    anonymous_id: str | None = None
    user_id: str | None = None
    channel: str = "web"  # web | mobile | server
    kind: str  # track | page | screen | identify | group | alias
    name: str | None = None
    path: str | None = None
    properties: dict[str, Any] = {}
    occurred_at: datetime
    message_id: str | None = None  # the client's messageId (deduplicated on ingest)
    traits: dict[str, Any] = {}  # identify calls: the traits sent

    def key(self) -> str:
        return self.customer_id or self.anonymous_id or self.user_id or self.interaction_id


class VisitorInteractionRecorded(InteractionRecorded):
    """A touch of a visitor no customer is linked to yet: `customer_id` null, keyed by the
    anonymous id (else the user id). The same data as InteractionRecorded, on its own topic
    (`ecrm.interactions.visitor`): most web traffic is anonymous, and the services that act on
    customers (campaigns, sales) then never read it. Analytics counts both. When contacts links
    the visitor, the earlier touches join the customer's timeline; they are not published again."""

    aggregate: ClassVar[str] = "visitor"


class OrderLine(BaseModel):
    sku: str
    name: str | None = None
    quantity: int
    unit_price: float


class OrderPlaced(Event):
    """A store or online order (topic `ecrm.interactions.order`)."""

    owner: ClassVar[str] = "interactions"
    aggregate: ClassVar[str] = "order"
    order_id: str
    store_id: str
    customer_id: str | None = None
    email: str | None = None
    loyalty_id: str | None = None
    channel: str  # store | online
    currency: str
    total: float
    lines: list[OrderLine] = []
    placed_at: datetime
    id: str | None = None  # the order's id in the interactions service (GET /api/v1/orders/{id})

    def key(self) -> str:
        return self.customer_id or f"{self.store_id}:{self.order_id}"


class CustomerMetricsChanged(Event):
    """The customer's activity figures, published whenever they change (for segments, scoring)."""

    owner: ClassVar[str] = "interactions"
    aggregate: ClassVar[str] = "customer-metrics"
    customer_id: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    touches: dict[str, int] = {}  # per channel
    orders_count: int = 0
    total_spent: float = 0.0
    last_order_at: datetime | None = None


EVENTS = (InteractionRecorded, VisitorInteractionRecorded, OrderPlaced, CustomerMetricsChanged)
