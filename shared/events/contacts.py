"""Events owned by the contacts service (topic `ecrm.contacts.customer`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel

from shared.events.base import Event

# `pending`: asked for, not confirmed yet (double opt-in); only `subscribed` may be marketed to.
ConsentState = Literal["subscribed", "unsubscribed", "pending", "unknown"]


class Identity(BaseModel):
    kind: str  # anonymous_id | user_id | loyalty_id | email
    value: str


class CustomerEvent(Event):
    owner: ClassVar[str] = "contacts"
    aggregate: ClassVar[str] = "customer"
    customer_id: str


class CustomerSnapshot(BaseModel):
    """The customer's current state, carried by created and updated events."""

    email: str | None = None  # normalised by contacts: validated, lower case
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    tags: list[str] = []
    attributes: dict[str, Any] = {}
    stage: str = "lead"
    consent: dict[str, ConsentState] = {}
    version: int = 1


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def newest_snapshots(items: Iterable[tuple[K, V]], version: Callable[[V], int]) -> dict[K, V]:
    """Of each customer's snapshots, the one applying them in order keeps: an older version never
    overwrites a newer, so the highest version wins, the last of equal ones."""
    newest: dict[K, V] = {}
    for key, item in items:
        if key not in newest or version(newest[key]) <= version(item):
            newest[key] = item
    return newest


class CustomerCreated(CustomerEvent, CustomerSnapshot):
    pass


class CustomerUpdated(CustomerEvent, CustomerSnapshot):
    changed: list[str] = []


class CustomersMerged(CustomerEvent):
    """`customer_id` is the survivor; `merged_id` now resolves to it."""

    merged_id: str


class ConsentChanged(CustomerEvent):
    channel: str
    state: ConsentState
    source: str
    at: datetime


class IdentityLinked(CustomerEvent):
    identity: Identity
    request_id: str | None = None  # the identity request that caused it, if any
    created: bool = False  # whether the customer was created by this request


class IdentityRequest(Event):
    """Sent by a channel (web, email, store) that saw an email or identity and needs a customer.

    Contacts answers with IdentityLinked (and CustomerCreated when it made a new customer).
    """

    owner: ClassVar[str] = "contacts"
    aggregate: ClassVar[str] = "identity-request"
    request_id: str
    requested_by: str
    email: str | None = None
    identities: list[Identity] = []
    traits: dict[str, Any] = {}

    def key(self) -> str:
        return self.email or (self.identities[0].value if self.identities else self.request_id)


EVENTS = (CustomerCreated, CustomerUpdated, CustomersMerged, ConsentChanged, IdentityLinked)
REQUESTS = (IdentityRequest,)


class CustomerDeleted(CustomerEvent):
    """The customer was deleted through the API (soft delete; the id stays reserved)."""


EVENTS = (*EVENTS, CustomerDeleted)
