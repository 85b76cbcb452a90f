"""What the system accepted (and what was only attempted) during a chaos run."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrackedCall:
    message_id: str
    kind: str
    user_id: str | None
    anonymous_id: str | None


@dataclass
class Ledger:
    """Everything accepted (2xx, or 250 for mail) must be found exactly once after the run;
    an attempt that never got an answer may be found once or not at all, never twice."""

    tracked: dict[str, TrackedCall] = field(default_factory=dict)
    tracked_attempted: set[str] = field(default_factory=set)
    tracked_invalid: set[str] = field(default_factory=set)  # sent invalid on purpose
    orders: dict[str, str | None] = field(default_factory=dict)  # order id -> email
    orders_attempted: set[str] = field(default_factory=set)
    customers: dict[str, str] = field(default_factory=dict)  # email -> customer id
    customer_users: dict[str, str] = field(default_factory=dict)  # email -> its user_id
    customers_attempted: set[str] = field(default_factory=set)
    web_users: set[str] = field(default_factory=set)  # user ids identified with an email
    merges: list[tuple[str, str]] = field(default_factory=list)  # (survivor, merged)
    mails: dict[str, str] = field(default_factory=dict)  # Message-ID -> sender
    mails_attempted: set[str] = field(default_factory=set)
    segments: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    poison_keys: list[str] = field(default_factory=list)
    gave_up: Counter[str] = field(default_factory=Counter)  # never accepted within the limit
    retries: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)  # "<channel> <status>"
    started: float = field(default_factory=time.monotonic)

    def accepted_counts(self) -> dict[str, int]:
        return {
            "tracking_events": len(self.tracked),
            "orders": len(self.orders),
            "customers": len(self.customers),
            "merges": len(self.merges),
            "inbound_mails": len(self.mails),
            "campaign_sends": len(self.campaigns),
        }

    def merged_ids(self) -> set[str]:
        return {merged for _, merged in self.merges}

    def live_customers(self) -> list[tuple[str, str]]:
        """(email, id) of accepted customers not merged away, oldest first."""
        merged = self.merged_ids()
        return [(e, c) for e, c in self.customers.items() if c not in merged]
