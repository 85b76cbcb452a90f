"""The privacy lifecycle: erasure, export and unmerge fan out to every service.

Contacts owns the requests (topic `ecrm.contacts.privacy`); every service answers on its own
topic `ecrm.<service>.privacy` naming itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from shared.events.base import Event


class CustomerErased(Event):
    owner: ClassVar[str] = "contacts"
    aggregate: ClassVar[str] = "privacy"
    customer_id: str
    request_id: str
    email_hash: str | None = None  # sha256 of the normalised address, for suppression only
    identity_hashes: list[str] = []  # sha256 of identity values and of any other address
    merged_ids: list[str] = []  # customers merged into this one earlier: erased with it
    at: datetime


class ExportRequested(Event):
    owner: ClassVar[str] = "contacts"
    aggregate: ClassVar[str] = "privacy"
    customer_id: str
    request_id: str
    merged_ids: list[str] = []  # customers merged into this one: their data is exported too
    at: datetime


class CustomersUnmerged(Event):
    owner: ClassVar[str] = "contacts"
    aggregate: ClassVar[str] = "privacy"
    customer_id: str  # the survivor
    restored_id: str
    identities: list[dict[str, str]] = []  # moved back to the restored customer
    at: datetime


class _ServiceAnswer(Event):
    aggregate: ClassVar[str] = "privacy"
    customer_id: str
    request_id: str
    service: str
    at: datetime


def answer_types(service: str) -> tuple[type[Event], type[Event]]:
    """ErasureCompleted and ExportContributed for one service, on `ecrm.<service>.privacy`."""
    erasure = type("ErasureCompleted", (_ServiceAnswer,), {"__module__": __name__})
    erasure.owner = service  # type: ignore[attr-defined]
    export = type(
        "ExportContributed",
        (_ServiceAnswer,),
        {"__module__": __name__, "__annotations__": {"section": dict[str, Any]}, "section": {}},
    )
    export.owner = service  # type: ignore[attr-defined]
    return erasure, export


EVENTS = (CustomerErased, ExportRequested, CustomersUnmerged)


ANSWERING_SERVICES = ("contacts", "interactions", "support", "campaigns", "sales", "analytics")
ANSWERS: dict[str, tuple[type[Event], type[Event]]] = {
    s: answer_types(s) for s in ANSWERING_SERVICES
}
EVENTS = (*EVENTS, *(t for pair in ANSWERS.values() for t in pair))
