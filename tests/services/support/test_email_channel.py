"""The email channel against the real inbound SMTP server and a real outbound sink."""

from __future__ import annotations

import smtplib
import uuid

import pytest

from tests.services.support.conftest import in_thread, mail, one_ticket, query, send_mail
from tests.support.events import eventually, wait_for_events

TOPIC = "ecrm.support.ticket"


async def messages_of(http, support, auth, ticket_id):  # type: ignore[no-untyped-def]
    response = await http.get(f"{support}/api/v1/tickets/{ticket_id}/messages", headers=auth)
    assert response.status_code == 200
    return response.json()["items"]


async def test_mail_from_new_address_opens_ticket_and_finds_the_customer(
    infra, support, contacts, inbound_port, http, auth, email
):
    await in_thread(
        send_mail, inbound_port, mail(f"Grace <{email}>", "Printer on fire", "Help!"), email
    )
    ticket = await one_ticket(http, support, auth, email)
    assert (ticket["channel"], ticket["status"], ticket["subject"]) == (
        "email",
        "new",
        "Printer on fire",
    )
    await wait_for_events(
        infra.bootstrap,
        TOPIC,
        lambda e: (
            e.name == "TicketOpened"
            and e.data["ticket_id"] == ticket["id"]
            and e.data["channel"] == "email"
        ),
    )

    async def customer() -> list:
        found = await http.get(
            f"{contacts}/api/v1/customers", params={"email": email}, headers=auth
        )
        return found.json()["items"]

    created = (await eventually(customer))[0]

    async def linked() -> bool:
        got = await http.get(f"{support}/api/v1/tickets/{ticket['id']}", headers=auth)
        return got.json()["customer_id"] == created["id"]

    await eventually(linked)
    thread = await messages_of(http, support, auth, ticket["id"])
    assert [(m["author"], m["author_kind"], m["body"].strip()) for m in thread] == [
        (email, "customer", "Help!")
    ]


async def test_replies_thread_by_headers_and_by_subject_reference(
    support, inbound_port, http, auth, email
):
    first_id = f"<{uuid.uuid4().hex}@customer.test>"
    await in_thread(
        send_mail, inbound_port, mail(email, "Login broken", "Cannot log in", first_id), email
    )
    ticket = await one_ticket(http, support, auth, email)
    pending = await http.patch(
        f"{support}/api/v1/tickets/{ticket['id']}", json={"status": "pending"}, headers=auth
    )
    assert pending.status_code == 200

    reply = mail(email, "Re: Login broken", "Still broken", in_reply_to=first_id)
    await in_thread(send_mail, inbound_port, reply, email)
    by_subject = mail(email, f"Re: [#{ticket['ref']}] Login broken", "Any news?")
    await in_thread(send_mail, inbound_port, by_subject, email)

    thread = await messages_of(http, support, auth, ticket["id"])
    assert [m["body"].strip() for m in thread] == ["Cannot log in", "Still broken", "Any news?"]
    again = await one_ticket(http, support, auth, email)
    assert again["status"] == "open"  # the customer's reply reopened the pending ticket


async def test_subject_reference_from_a_stranger_opens_a_new_ticket(
    support, inbound_port, http, auth, email
):
    await in_thread(send_mail, inbound_port, mail(email, "Original", "Mine"), email)
    ticket = await one_ticket(http, support, auth, email)
    stranger = f"eve.{uuid.uuid4().hex[:8]}@example.com"
    intruder = mail(stranger, f"[#{ticket['ref']}] hi", "x")
    await in_thread(send_mail, inbound_port, intruder, stranger)
    other = await one_ticket(http, support, auth, stranger)
    assert other["id"] != ticket["id"]
    assert len(await messages_of(http, support, auth, ticket["id"])) == 1


async def test_agent_reply_reaches_the_requester_with_threading_headers(
    support, inbound_port, http, auth, email, mail_sink
):
    first_id = f"<{uuid.uuid4().hex}@customer.test>"
    await in_thread(
        send_mail, inbound_port, mail(email, "Refund", "Where is my refund?", first_id), email
    )
    ticket = await one_ticket(http, support, auth, email)
    note = await http.post(
        f"{support}/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "internal: check the ledger", "visibility": "internal"},
        headers=auth,
    )
    answer = await http.post(
        f"{support}/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "It was sent today."},
        headers=auth,
    )
    assert (note.status_code, answer.status_code) == (201, 201)
    assert answer.json()["ticket_status"] == "open"

    delivered = await eventually(lambda: mail_sink.to(email), timeout=20)
    assert len(delivered) == 1  # the internal note is never mailed
    sent = delivered[0]
    assert sent["In-Reply-To"] == first_id
    assert first_id in sent["References"]
    assert f"[#{ticket['ref']}]" in sent["Subject"]
    assert "It was sent today." in sent.get_content()

    customer_reply = mail(
        email, f"Re: {sent['Subject']}", "Thanks!", in_reply_to=str(sent["Message-ID"])
    )
    await in_thread(send_mail, inbound_port, customer_reply, email)
    bodies = [m["body"].strip() for m in await messages_of(http, support, auth, ticket["id"])]
    assert bodies[-1] == "Thanks!"
    got = (await http.get(f"{support}/api/v1/tickets/{ticket['id']}", headers=auth)).json()
    assert got["first_response_at"] is not None


async def test_attachments_are_kept_and_a_redelivered_mail_is_applied_once(
    support, inbound_port, http, auth, email
):
    message = mail(email, "Screenshot", "See attached")
    message.add_attachment(
        b"\x89PNG fake image", maintype="image", subtype="png", filename="screen.png"
    )
    await in_thread(send_mail, inbound_port, message, email)
    await in_thread(send_mail, inbound_port, message, email)  # the sender retried
    ticket = await one_ticket(http, support, auth, email)
    thread = await messages_of(http, support, auth, ticket["id"])
    assert len(thread) == 1
    [attachment] = thread[0]["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("screen.png", 15)
    download = await http.get(
        f"{support}/api/v1/tickets/{ticket['id']}/attachments/{attachment['id']}", headers=auth
    )
    assert download.content == b"\x89PNG fake image"


def _smtp_code(fn, *args) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(smtplib.SMTPException) as caught:
        fn(*args)
    error = caught.value
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return next(iter(error.recipients.values()))[0]
    return error.smtp_code  # type: ignore[attr-defined]


async def test_malformed_mail_is_refused_or_quarantined_and_the_server_keeps_answering(
    infra, support, inbound_port, http, auth, email
):
    no_sender = b"To: help@support.test\r\nSubject: who am I\r\n\r\nnobody sent this\r\n"
    assert await in_thread(_smtp_code, send_mail, inbound_port, no_sender, "") == 550

    oversize = mail(email, "Huge", "x" * 300_000)
    assert await in_thread(_smtp_code, send_mail, inbound_port, oversize, email) == 552

    big_file = mail(email, "Big file", "see file")
    big_file.add_attachment(
        b"0" * 60_000, maintype="application", subtype="octet-stream", filename="dump.bin"
    )
    assert await in_thread(_smtp_code, send_mail, inbound_port, big_file, email) == 552

    marker = uuid.uuid4().hex
    broken = (
        f"From: {email}\r\nTo: help@support.test\r\nSubject: {marker}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + b"caf\xe9 \xff\xfe broken\r\n"
    assert await in_thread(send_mail, inbound_port, broken, email) == {}
    rows = await query(
        infra, "SELECT reason, raw FROM quarantined_mail WHERE mail_from = $1", email
    )
    assert len(rows) == 1 and "broken encoding" in rows[0]["reason"]
    assert marker.encode() in rows[0]["raw"]

    await in_thread(send_mail, inbound_port, mail(email, "Normal", "all good"), email)
    ticket = await one_ticket(http, support, auth, email)
    assert ticket["subject"] == "Normal"  # only the good mail became a ticket
