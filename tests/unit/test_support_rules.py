"""Pure rules of the support service: transitions, SLA clock, subjects, CSAT tokens, mail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from services.support import csat_token
from services.support.domain import (
    deadlines,
    status_after_customer_reply,
    subject_ref,
    tagged_subject,
    transition_error,
)
from services.support.mail.parse import ParsedMail, Quarantine, Refuse, parse
from services.support.store.lifecycle import status_changes


def test_transitions():
    assert transition_error("new", "open") is None
    assert transition_error("resolved", "open") is None
    assert "closed is final" in transition_error("closed", "open")
    assert "allowed" in transition_error("open", "new")
    assert status_after_customer_reply("pending") == "open"
    assert status_after_customer_reply("open") is None


def test_sla_clock_moves_deadlines_by_the_paused_time():
    opened = datetime(2024, 1, 1, tzinfo=UTC)
    first, resolution = deadlines(opened, 60, 600)
    row = {"sla_paused_at": None, "first_response_due": first, "resolution_due": resolution}
    paused = status_changes(row, "pending", opened + timedelta(seconds=10))
    assert paused["sla_paused_at"] == opened + timedelta(seconds=10)
    row = {**row, "sla_paused_at": paused["sla_paused_at"]}
    resumed = status_changes(row, "open", opened + timedelta(seconds=40))
    assert resumed["first_response_due"] == first + timedelta(seconds=30)
    assert resumed["sla_paused_at"] is None


def test_subjects():
    assert subject_ref("Re: [#1042] Broken") == 1042
    assert subject_ref("no ref") is None
    assert tagged_subject(7, "Re: Fwd: [#7] Broken") == "[#7] Broken"


def test_csat_token_round_trip_and_tampering():
    ticket = uuid.uuid4()
    token = csat_token.sign("k", ticket)
    assert csat_token.verify("k", token) == ticket
    with pytest.raises(csat_token.TamperedToken):
        csat_token.verify("other key", token)
    with pytest.raises(csat_token.BadToken):
        csat_token.verify("k", "!!")


def _mail(**headers: str) -> EmailMessage:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("hello")
    return message


def test_parse_threads_and_refuses():
    message = _mail(
        From="A <A@Example.com>", Subject="Hi", In_Reply_To="<a@x>", References="<root@x> <a@x>"
    )
    parsed = parse(message.as_bytes(), None, 1000)
    assert isinstance(parsed, ParsedMail)
    assert (parsed.sender, parsed.thread_ids) == ("a@example.com", ["<a@x>", "<root@x>"])
    assert parsed.message_id.endswith("@inbound.ecrm>")  # derived when missing
    assert isinstance(parse(_mail(Subject="x").as_bytes(), "", 1000), Refuse)
    looping = _mail(From="b@example.com", Auto_Submitted="auto-replied")
    assert isinstance(parse(looping.as_bytes(), None, 1000), Quarantine)
    unknown = _mail(From="b@example.com")
    unknown.replace_header("Content-Type", 'text/plain; charset="x-klingon"')
    assert isinstance(parse(unknown.as_bytes(), None, 1000), Quarantine)


ADDRESSES = [
    "User+Tag@Example.COM",
    " a.b@EXAMPLE.org ",
    "Ünïcode@Bücher.DE",
    "a@xn--bcher-kva.de",
    "A\u030a@x.com",  # decomposed: normalised to NFC
    "x_y-z@sub.Domain.co.uk",
]


def test_a_created_customers_address_is_taken_as_contacts_normalised_it(monkeypatch):
    from services.contacts.domain import normalise_email as contacts_normalise
    from services.support import domain
    from services.support.consumers import _created_address
    from shared.events.contacts import CustomerCreated

    sent = [contacts_normalise(a) for a in ADDRESSES]
    expected = [domain.normalise_email(a) for a in sent]  # what validating again would give

    def no_validation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the address was validated again")

    monkeypatch.setattr(domain, "validate_email", no_validation)
    taken = [_created_address(CustomerCreated(customer_id="c1", email=a)) for a in sent]
    assert taken == expected == sent
    assert _created_address(CustomerCreated(customer_id="c2")) is None
