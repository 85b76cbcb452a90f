"""Contacts' own answer to "who is this?", read from its database: emails and identities
resolved through merges to the live customer."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.settings import Settings
from tests.reliability.checks import database


@dataclass
class ContactsView:
    merged_into: dict[str, str | None] = field(default_factory=dict)
    by_email: dict[str, str] = field(default_factory=dict)
    identities: dict[tuple[str, str], str] = field(default_factory=dict)

    def resolve(self, customer_id: str | None) -> str | None:
        seen: set[str] = set()
        while customer_id and self.merged_into.get(customer_id) and customer_id not in seen:
            seen.add(customer_id)
            customer_id = self.merged_into[customer_id]
        return customer_id

    def of_identity(self, kind: str, value: str) -> str | None:
        found = self.identities.get((kind, value))
        if found is None and kind == "email":
            found = self.by_email.get(value)
        return self.resolve(found)


async def read_contacts(settings: Settings) -> ContactsView:
    view = ContactsView()
    async with database(settings, "contacts") as conn:
        for row in await conn.fetch(
            "SELECT id::text, email, merged_into::text FROM customers ORDER BY created_at"
        ):
            view.merged_into[row["id"]] = row["merged_into"]
            if row["email"] and row["merged_into"] is None:
                view.by_email[row["email"]] = row["id"]
        for row in await conn.fetch("SELECT kind, value, customer_id::text FROM identities"):
            view.identities[(row["kind"], row["value"])] = row["customer_id"]
    return view
