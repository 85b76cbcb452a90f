"""Pure mapping of every service's events to timeline entries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.interactions.consumers import foreign_topics
from services.interactions.timeline_domain import from_event, from_interaction, is_touch
from shared.cloudevents import Envelope
from shared.events.interactions import InteractionRecorded

AT = datetime(2025, 1, 1, tzinfo=UTC)


def envelope(ce_type: str, data: dict, topic: str = "t") -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        type=ce_type,
        source="/x",
        subject=None,
        time=AT,
        key=None,
        data=data,
        topic=topic,
        partition=0,
        offset=0,
    )


def test_the_owner_decides_the_channel_and_the_name_the_type():
    sent = from_event(
        envelope(
            "ecrm.campaigns.MessageSent.v1",
            {"customer_id": "c", "subject": "Hi", "at": "2025-02-01T00:00:00Z"},
        )
    )
    assert (sent.channel, sent.type, sent.summary) == ("email", "MessageSent", "Email sent: Hi")
    assert sent.occurred_at == datetime(2025, 2, 1, tzinfo=UTC)
    deal = from_event(
        envelope("ecrm.sales.DealWon.v1", {"customer_id": "c", "amount": 10, "currency": "EUR"})
    )
    assert deal.channel == "sales" and deal.occurred_at == AT  # no time in data: the event's


def test_unknown_events_get_a_readable_summary_and_customerless_ones_none():
    entry = from_event(envelope("ecrm.support.TicketReopened.v1", {"customer_id": "c"}))
    assert (entry.channel, entry.summary) == ("support", "Ticket reopened")
    assert from_event(envelope("ecrm.sales.AccountCreated.v1", {"account_id": "a"})) is None


def test_web_touches_keep_their_kind_and_properties():
    event = InteractionRecorded(
        interaction_id="i1",
        anonymous_id="a",
        kind="page",
        name=None,
        path="/pricing",
        properties={"path": "/pricing"},
        occurred_at=AT,
    )
    entry = from_interaction(event.model_dump())
    assert (entry.ref, entry.type, entry.summary) == (
        "interaction:i1",
        "page",
        "Viewed page /pricing",
    )
    assert entry.data["properties"] == {"path": "/pricing"}


def test_every_support_campaigns_and_sales_topic_is_consumed_but_privacy_answers():
    topics = foreign_topics()
    assert {"ecrm.support.ticket", "ecrm.campaigns.message", "ecrm.sales.deal"} <= set(topics)
    assert not [t for t in topics if t.endswith(".privacy") or ".dlq" in t]


def test_record_edits_and_derived_events_are_no_touch():
    assert is_touch("email", "MessageSent") and is_touch("web", "page")
    assert is_touch("sales", "ActivityLogged") and is_touch("support", "TicketOpened")
    assert not is_touch("contacts", "ConsentChanged")
    assert not is_touch("email", "SegmentMembershipChanged")
    assert not is_touch("sales", "LeadQualified") and not is_touch("support", "SlaBreached")
