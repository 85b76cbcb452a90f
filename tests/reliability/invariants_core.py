"""Invariants of the write side: every accepted tracking call, order, customer, merge and
inbound mail stored exactly once, and on the timeline of the customer it belongs to (a call of a
visitor nobody is linked to: on no timeline)."""

from __future__ import annotations

from typing import Any

from shared.settings import Settings
from tests.reliability.checks import Check, count_once, database, never_twice
from tests.reliability.contacts_view import ContactsView
from tests.reliability.ledger import Ledger, TrackedCall

_TIMELINE_OF_CALLS = """
SELECT i.message_id, count(t.id) AS n, max(t.customer_id::text) AS customer
  FROM interactions i LEFT JOIN timeline t ON t.ref = 'interaction:' || i.id::text
 WHERE i.message_id = ANY($1::text[]) GROUP BY i.message_id
"""
_ORDERS = """
SELECT o.order_id, count(DISTINCT o.id) AS n, count(t.id) AS on_timeline,
       max(o.customer_id::text) AS customer, max(t.customer_id::text) AS timeline_customer
  FROM orders o LEFT JOIN timeline t ON t.ref = 'order:' || o.id::text
 WHERE o.store_id = $1 GROUP BY o.order_id
"""


async def tracking_checks(settings: Settings, ledger: Ledger, who: ContactsView) -> list[Check]:
    stored, timeline = Check("tracking.interactions"), Check("tracking.timeline")
    sent = sorted(ledger.tracked_attempted | ledger.tracked_invalid)
    async with database(settings, "interactions") as conn:
        rows = await conn.fetch(
            "SELECT message_id, count(*) AS n FROM interactions"
            " WHERE message_id = ANY($1::text[]) GROUP BY message_id", sent,
        )  # fmt: skip
        on_timeline = await conn.fetch(_TIMELINE_OF_CALLS, sent)
    found = {r["message_id"]: r["n"] for r in rows}
    count_once(stored, list(ledger.tracked), found)
    never_twice(stored, found)
    invalid = [m for m in ledger.tracked_invalid if m in found]
    if invalid:
        stored.problems.append(
            f"{len(invalid)} calls refused as invalid were stored: {invalid[:5]}"
        )
    placed = {r["message_id"]: r for r in on_timeline}
    _on_their_timelines(timeline, ledger, who, placed)
    return [stored, timeline, _web_users(ledger, who)]


def _on_their_timelines(
    check: Check, ledger: Ledger, who: ContactsView, placed: dict[str, Any]
) -> None:
    """A call of a person contacts knows is on that person's timeline exactly once; a call of a
    visitor nobody is linked to is on no timeline (it is stitched when someone is)."""
    people = {m: _person_of(c, who) for m, c in ledger.tracked.items()}
    count_once(check, [m for m, p in people.items() if p], {m: r["n"] for m, r in placed.items()})
    never_twice(check, {m: r["n"] for m, r in placed.items()})
    misplaced, strays = [], []
    for message_id, person in people.items():
        row = placed.get(message_id)
        if row is None or row["n"] != 1:
            continue
        if person is None:
            strays.append(message_id)
        elif row["customer"] != person:
            misplaced.append(f"{message_id}: timeline {row['customer']}, contacts {person}")
    if misplaced:
        check.problems.append(f"{len(misplaced)} calls on the wrong customer: {misplaced[:5]}")
    if strays:
        check.problems.append(
            f"{len(strays)} calls of unknown visitors on a timeline: {strays[:5]}"
        )


def _person_of(call: TrackedCall, who: ContactsView) -> str | None:
    """Who contacts says made the call: its user id's customer, else its anonymous id's."""
    if call.user_id and (person := who.of_identity("user_id", call.user_id)):
        return person
    return who.of_identity("anonymous_id", call.anonymous_id) if call.anonymous_id else None


def _web_users(ledger: Ledger, who: ContactsView) -> Check:
    """Each visitor identified with an email became (or joined) one customer in contacts."""
    check = Check("identify.contacts")
    identified = {c.user_id for c in ledger.tracked.values() if c.kind == "identify" and c.user_id}
    found = {u: 1 for u in identified if who.of_identity("user_id", u)}
    count_once(check, sorted(identified), found)
    return check


async def order_checks(
    settings: Settings, ledger: Ledger, who: ContactsView, store: str
) -> list[Check]:
    stored, timeline = Check("orders.interactions"), Check("orders.timeline")
    async with database(settings, "interactions") as conn:
        rows = {r["order_id"]: r for r in await conn.fetch(_ORDERS, store)}
    count_once(stored, list(ledger.orders), {k: r["n"] for k, r in rows.items()})
    never_twice(stored, {k: r["n"] for k, r in rows.items()})
    count_once(timeline, list(ledger.orders), {k: r["on_timeline"] for k, r in rows.items()})
    stray = [k for k in rows if k not in ledger.orders_attempted]
    if stray:
        stored.problems.append(f"orders nobody sent: {stray[:5]}")
    wrong = []
    for order_id, email in ledger.orders.items():
        row = rows.get(order_id)
        owner = who.of_identity("email", email) if email else None
        if row is not None and (row["customer"] != owner or row["timeline_customer"] != owner):
            wrong.append(
                f"{order_id}: order {row['customer']}, timeline "
                f"{row['timeline_customer']}, contacts {owner}"
            )
    if wrong:
        stored.problems.append(f"{len(wrong)} orders on the wrong customer: {wrong[:5]}")
    return [stored, timeline]


async def customer_checks(settings: Settings, ledger: Ledger, who: ContactsView) -> list[Check]:
    created, merges = Check("customers.contacts"), Check("merges.contacts")
    async with database(settings, "contacts") as conn:
        rows = await conn.fetch(
            "SELECT email, count(*) AS n FROM customers WHERE email = ANY($1::text[])"
            " GROUP BY email", sorted(ledger.customers_attempted),
        )  # fmt: skip
    by_email = {r["email"]: r["n"] for r in rows}
    never_twice(created, by_email)
    known = {email: 1 for email, cid in ledger.customers.items() if cid in who.merged_into}
    count_once(created, list(ledger.customers), known)
    lost_identity = [
        user for email, user in ledger.customer_users.items()
        if who.of_identity("user_id", user) != who.resolve(ledger.customers[email])
    ]  # fmt: skip
    if lost_identity:
        created.problems.append(f"identities not on their customer: {lost_identity[:5]}")
    merges.expected = len(ledger.merges)
    merges.lost = [
        f"{merged}->{survivor}" for survivor, merged in ledger.merges
        if who.resolve(merged) != who.resolve(survivor) or merged == who.resolve(merged)
    ]  # fmt: skip
    return [created, merges]


async def mail_checks(settings: Settings, ledger: Ledger) -> list[Check]:
    ids, tickets = Check("inbound_mail.support"), Check("inbound_mail.tickets")
    async with database(settings, "support") as conn:
        rows = await conn.fetch(
            "SELECT trim(both '<>' from message_id) AS id, count(*) AS n FROM mail_ids"
            " WHERE trim(both '<>' from message_id) = ANY($1::text[]) GROUP BY 1",
            [m.strip("<>") for m in ledger.mails_attempted],
        )  # fmt: skip
        senders = await conn.fetch(
            "SELECT requester_email AS email, count(*) AS n FROM tickets"
            " WHERE requester_email LIKE '%@senders.chaos.example' GROUP BY 1"
        )
    count_once(ids, [m.strip("<>") for m in ledger.mails], {r["id"]: r["n"] for r in rows})
    found = {r["email"]: r["n"] for r in senders}
    count_once(tickets, list(ledger.mails.values()), found)
    never_twice(tickets, found)
    return [ids, tickets]
