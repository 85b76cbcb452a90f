"""A campaign through a real SMTP sink: recipients, headers, template, tracking, unsubscribe."""

from __future__ import annotations

import re

import asyncpg

from tests.services.campaigns.conftest import (
    address,
    launched,
    new_customer,
    new_segment,
    projected,
    sink_holds,
)
from tests.support.events import eventually, wait_for_events

HTML = (
    "<html><body><p>Hello {{ first_name }}, {{ attributes.plan }}!</p>"
    '<a href="https://shop.example.com/sale?x=1&amp;y=2">Sale</a>'
    '<a href="mailto:help@example.com">Mail us</a></body></html>'
)


async def _launch(http, campaigns, auth, segment_id, **extra):
    body = {
        "name": "Spring",
        "segment_id": segment_id,
        "subject": "Hi {{ first_name }}",
        "html": HTML,
        "from": "Shop <news@shop.example.com>",
        **extra,
    }
    created = await http.post(f"{campaigns}/api/v1/campaigns", json=body, headers=auth)
    assert created.status_code == 201, created.text
    campaign = created.json()
    sent = await http.post(f"{campaigns}/api/v1/campaigns/{campaign['id']}/send", headers=auth)
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "launching" and sent.json()["recipients"] is None
    again = await http.post(f"{campaigns}/api/v1/campaigns/{campaign['id']}/send", headers=auth)
    assert again.status_code == 409  # launching is sent
    return await launched(http, campaigns, auth, campaign["id"])


async def test_only_subscribed_members_get_the_rendered_mail_with_headers(
    infra, contacts, campaigns, smtp_sink, http, auth, tag
):
    yes = address("yes")
    no = address("no")
    unknown = address("unknown")
    await new_customer(
        http,
        contacts,
        auth,
        email=yes,
        first_name="Grace",
        tags=[tag],
        attributes={"plan": "<pro>"},
        consent={"email": "subscribed"},
    )
    await new_customer(
        http, contacts, auth, email=no, tags=[tag], consent={"email": "unsubscribed"}
    )
    await new_customer(http, contacts, auth, email=unknown, tags=[tag])
    await projected(http, campaigns, auth, {"tag": tag}, 3)
    segment = await new_segment(http, campaigns, auth, {"tag": tag})
    assert segment["member_count"] == 3

    campaign = await _launch(http, campaigns, auth, segment["id"])
    assert campaign["status"] == "launched" and campaign["recipients"] == 1
    await sink_holds(smtp_sink, [yes])

    [mail] = smtp_sink.to(yes)
    assert smtp_sink.to(no) == [] and smtp_sink.to(unknown) == []
    assert mail["Subject"] == "Hi Grace"
    assert mail["From"] == "Shop <news@shop.example.com>"
    assert re.fullmatch(r"<[0-9a-f-]{36}@shop\.example\.com>", mail["Message-ID"])
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(rf"<{campaigns}/u/[\w-]+\.[\w-]+>", mail["List-Unsubscribe"])
    # as sent: one line, the URL itself (folded as RFC 2047 encoded words, clients ignore it)
    [received] = smtp_sink.received_by(yes)
    unsubscribe = rf"^List-Unsubscribe: <{re.escape(campaigns)}/u/[\w-]+\.[\w-]+>\r?$"
    assert re.search(unsubscribe.encode(), received.raw, re.MULTILINE), received.raw[:800]
    body = mail.get_content()
    assert "Hello Grace, &lt;pro&gt;!" in body  # autoescaped
    assert "https://shop.example.com/sale" not in body  # rewritten to a signed redirect
    assert 'href="mailto:help@example.com"' in body
    assert re.search(rf'<img src="{campaigns}/t/o/[\w.-]+\.gif"', body)

    await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.campaign",
        lambda e: e.data.get("campaign_id") == campaign["id"],
    )
    await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.message",
        lambda e: e.name == "MessageSent" and e.data.get("campaign_id") == campaign["id"],
    )
    again = await http.post(f"{campaigns}/api/v1/campaigns/{campaign['id']}/send", headers=auth)
    assert again.status_code == 409


async def test_pixel_click_and_one_click_unsubscribe(
    infra, contacts, campaigns, smtp_sink, http, auth, tag
):
    to = address("track")
    customer = await new_customer(
        http,
        contacts,
        auth,
        email=to,
        first_name="Alan",
        tags=[tag],
        consent={"email": "subscribed"},
    )
    await projected(http, campaigns, auth, {"tag": tag}, 1)
    segment = await new_segment(http, campaigns, auth, {"tag": tag})
    campaign = await _launch(http, campaigns, auth, segment["id"])
    await sink_holds(smtp_sink, [to])
    mail = smtp_sink.to(to)[0]
    body = mail.get_content()

    pixel = re.search(r'<img src="([^"]+)"', body).group(1)
    for _ in range(2):
        opened = await http.get(pixel)
        assert opened.status_code == 200 and opened.headers["content-type"] == "image/gif"
        assert opened.content.startswith(b"GIF89a")
    click = re.search(r'href="([^"]+/t/c/[^"]+)"', body).group(1)
    redirected = await http.get(click)
    assert redirected.status_code == 302
    assert redirected.headers["location"] == "https://shop.example.com/sale?x=1&y=2"
    token = click.rsplit("/", 1)[1]
    body_part, mac = token.split(".")
    tampered = f"{campaigns}/t/c/{body_part[:-2]}AA.{mac}"
    assert (await http.get(tampered)).status_code == 400
    assert (await http.get(pixel.replace("/t/o/", "/t/o/x"))).status_code == 400

    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    page = await http.get(unsubscribe)
    assert page.status_code == 200 and '<form method="post"' in page.text
    one_click = await http.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    assert (await http.post(unsubscribe)).status_code == 200  # twice: recorded once

    [(record, event)] = await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.consent",
        lambda e: e.name == "UnsubscribeRequested" and e.data.get("customer_id") == customer["id"],
    )
    assert record.key.decode() == customer["id"]
    assert event.data["channel"] == "email" and event.data["source"] == "unsubscribe_link"
    assert event.data["campaign_id"] == campaign["id"]
    await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.message",
        lambda e: (
            e.name == "LinkClicked"
            and e.data.get("campaign_id") == campaign["id"]
            and e.data["url"] == "https://shop.example.com/sale?x=1&y=2"
        ),
    )
    opened = await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.message",
        lambda e: e.name == "MessageOpened" and e.data.get("campaign_id") == campaign["id"],
    )
    assert len(opened) == 1  # the funnel event once; every open is still recorded

    stats = (
        await http.get(f"{campaigns}/api/v1/campaigns/{campaign['id']}/stats", headers=auth)
    ).json()
    assert {
        k: stats[k]
        for k in ("sent", "delivered", "opened", "opens", "clicked", "unsubscribed", "bounced")
    } == {
        "sent": 1,
        "delivered": 1,
        "opened": 1,
        "opens": 2,
        "clicked": 1,
        "unsubscribed": 1,
        "bounced": 0,
    }
    # the projection stops mailing at once; a new campaign skips the customer
    await projected(http, campaigns, auth, {"all": [{"tag": tag}, {"consent": "email"}]}, 0)


async def test_permanent_refusal_bounces_and_suppresses_the_address(
    infra, contacts, campaigns, smtp_sink, http, auth, tag
):
    bad = address("bounce-me")
    await new_customer(http, contacts, auth, email=bad, tags=[tag], consent={"email": "subscribed"})
    await projected(http, campaigns, auth, {"tag": tag}, 1)
    segment = await new_segment(http, campaigns, auth, {"tag": tag})
    first = await _launch(http, campaigns, auth, segment["id"])

    async def bounced() -> bool:
        stats = await http.get(f"{campaigns}/api/v1/campaigns/{first['id']}/stats", headers=auth)
        return stats.json()["bounced"] == 1

    await eventually(bounced, timeout=30)
    await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.message",
        lambda e: (
            e.name == "MessageBounced"
            and e.data["campaign_id"] == first["id"]
            and e.data["permanent"]
        ),
    )
    conn = await asyncpg.connect(infra.dsn("campaigns"))
    try:
        assert await conn.fetchval("SELECT 1 FROM suppressions WHERE email = $1", bad)
    finally:
        await conn.close()
    second = await _launch(http, campaigns, auth, segment["id"])
    assert second["recipients"] == 0  # never mailed again
    assert smtp_sink.to(bad) == []


async def test_scheduled_send_goes_out_at_its_time(contacts, campaigns, smtp_sink, http, auth, tag):
    from datetime import UTC, datetime, timedelta

    to = address("later")
    await new_customer(http, contacts, auth, email=to, tags=[tag], consent={"email": "subscribed"})
    await projected(http, campaigns, auth, {"tag": tag}, 1)
    segment = await new_segment(http, campaigns, auth, {"tag": tag})
    body = {"name": "Later", "segment_id": segment["id"], "subject": "Later", "html": "<p>x</p>"}
    campaign = (await http.post(f"{campaigns}/api/v1/campaigns", json=body, headers=auth)).json()
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    scheduled = await http.post(
        f"{campaigns}/api/v1/campaigns/{campaign['id']}/send", json={"at": at}, headers=auth
    )
    assert scheduled.status_code == 202 and scheduled.json()["status"] == "scheduled"
    assert smtp_sink.to(to) == []
    await sink_holds(smtp_sink, [to])
    naive = await http.post(
        f"{campaigns}/api/v1/campaigns/{campaign['id']}/send",
        json={"at": "2030-01-01T09:00:00"},
        headers=auth,
    )
    assert naive.status_code == 422 and "at" in naive.text


async def test_templates_are_checked_at_create_time(campaigns, http, auth, tag):
    segment = await new_segment(http, campaigns, auth, {"tag": tag})
    cases = {
        "html": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "subject": "Hi {{ first_name ",
    }
    for field, template in cases.items():
        body = {
            "name": "x",
            "segment_id": segment["id"],
            "subject": "ok",
            "html": "<p>ok</p>",
            field: template,
        }
        response = await http.post(f"{campaigns}/api/v1/campaigns", json=body, headers=auth)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    sneaky = {
        "name": "x",
        "segment_id": segment["id"],
        "subject": "ok",
        "html": "{{ cycler.__init__.__globals__ }}",
    }
    response = await http.post(f"{campaigns}/api/v1/campaigns", json=sneaky, headers=auth)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "html"
    unknown = {
        "name": "x",
        "segment_id": "00000000-0000-0000-0000-000000000000",
        "subject": "a",
        "html": "b",
    }
    response = await http.post(f"{campaigns}/api/v1/campaigns", json=unknown, headers=auth)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "segment_id"
