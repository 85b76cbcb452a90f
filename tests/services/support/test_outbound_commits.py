"""Agent replies go out one mail a transaction: a mail the relay accepted is marked sent before
the next is handed over, so a crash while the relay works on one mail re-sends only that one.
(A batch of up to 20 in one transaction re-sent every mail of it sent so far.)"""

from __future__ import annotations

import threading
import uuid

from tests.services.support.conftest import in_thread, mail, one_ticket, query, send_mail
from tests.support.events import eventually


async def _ticket_of(support, inbound_port, http, auth, address: str) -> str:  # type: ignore[no-untyped-def]
    await in_thread(send_mail, inbound_port, mail(address, "Help", "Please help"), address)
    return (await one_ticket(http, support, auth, address))["id"]


async def _reply(http, support, auth, ticket_id: str, body: str) -> None:  # type: ignore[no-untyped-def]
    answer = await http.post(
        f"{support}/api/v1/tickets/{ticket_id}/messages", json={"body": body}, headers=auth
    )
    assert answer.status_code == 201, answer.text


async def _status(infra, body: str) -> str | None:  # type: ignore[no-untyped-def]
    rows = await query(infra, "SELECT status FROM outgoing_mail WHERE body = $1", body)
    return rows[0]["status"] if rows else None


async def test_a_reply_is_marked_sent_before_the_next_goes_to_the_relay(
    infra, support, inbound_port, http, auth, mail_sink
):
    tag = uuid.uuid4().hex[:8]
    slow_first, quick, slow_next = (f"{n}-{tag}@example.com" for n in ("slow1", "quick", "slow2"))
    for address in (slow_first, slow_next):
        mail_sink.held[address] = threading.Event()
    tickets = {
        a: await _ticket_of(support, inbound_port, http, auth, a)
        for a in (slow_first, quick, slow_next)
    }
    try:
        # The sender takes the first reply and waits on the relay; the two others are due meanwhile.
        await _reply(http, support, auth, tickets[slow_first], f"first {tag}")
        await eventually(lambda: _status(infra, f"first {tag}"), timeout=10)
        await _reply(http, support, auth, tickets[quick], f"quick {tag}")
        await _reply(http, support, auth, tickets[slow_next], f"next {tag}")
        mail_sink.held[slow_first].set()
        await eventually(lambda: mail_sink.to(quick), timeout=20)
        # The relay now holds the last one; the quick one, sent before it, is marked already.
        assert await eventually(lambda: _status_is(infra, f"quick {tag}", "sent"), timeout=10)
        assert mail_sink.to(slow_next) == []
    finally:
        for event in mail_sink.held.values():
            event.set()
    await eventually(lambda: mail_sink.to(slow_next), timeout=20)


async def _status_is(infra, body: str, status: str) -> bool:  # type: ignore[no-untyped-def]
    return await _status(infra, body) == status


async def test_replies_go_to_the_relay_over_one_kept_connection(
    support, inbound_port, http, auth, mail_sink
):
    tag = uuid.uuid4().hex[:8]
    first, second = (f"{n}-{tag}@example.com" for n in ("keep1", "keep2"))
    tickets = {a: await _ticket_of(support, inbound_port, http, auth, a) for a in (first, second)}
    await _reply(http, support, auth, tickets[first], f"one {tag}")
    await eventually(lambda: mail_sink.to(first), timeout=20)
    await _reply(http, support, auth, tickets[second], f"two {tag}")  # a later pass of the sender
    await eventually(lambda: mail_sink.to(second), timeout=20)
    connections = {*mail_sink.peers_of(first), *mail_sink.peers_of(second)}
    assert len(connections) == 1, connections  # one kept connection, not one a mail
