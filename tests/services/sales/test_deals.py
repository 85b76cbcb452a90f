"""Deals through pipeline stages on a real sales process: transitions, ETags, events,
activities, and the board, forecast and stats figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.support.events import wait_for_events


async def new_pipeline(http, sales, auth) -> str:
    pipeline_id = f"p-{uuid.uuid4().hex[:10]}"
    body = {
        "id": pipeline_id,
        "name": "Enterprise",
        "stages": [
            {"name": "discovery", "probability": 0.2},
            {"name": "proposal", "probability": 0.5},
        ],
    }
    response = await http.post(f"{sales}/api/v1/pipelines", json=body, headers=auth)
    assert response.status_code == 201, response.text
    assert [s["name"] for s in response.json()["stages"]] == [
        "discovery",
        "proposal",
        "won",
        "lost",
    ]
    return pipeline_id


async def new_deal(http, sales, auth, **fields) -> dict:
    body = {
        "name": "Big one",
        "customer_id": str(uuid.uuid4()),
        "amount": 1000,
        "currency": "eur",
    } | fields
    response = await http.post(f"{sales}/api/v1/deals", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def move(http, sales, auth, deal: dict, etag: str | None = None, **body):
    headers = auth | ({"If-Match": etag} if etag else {})
    return await http.patch(f"{sales}/api/v1/deals/{deal['id']}", json=body, headers=headers)


async def test_a_deal_starts_in_the_first_stage_and_is_won_with_dealwon_on_its_topic(
    infra, sales, http, auth
):
    deal = await new_deal(http, sales, auth, expected_close="2031-03-15", owner="rep-1")
    assert (
        deal["stage"] == "qualification"
        and deal["currency"] == "EUR"
        and deal["pipeline_id"] == "default"
    )
    assert [h["to"] for h in deal["stage_history"]] == ["qualification"]
    won = await move(http, sales, auth, deal, '"1"', stage="won")
    assert won.status_code == 200, won.text
    assert won.json()["closed_at"] and won.headers["etag"] == '"2"'
    assert [(h["from"], h["to"]) for h in won.json()["stage_history"]] == [
        (None, "qualification"),
        ("qualification", "won"),
    ]
    found = await wait_for_events(
        infra.bootstrap,
        "ecrm.sales.deal",
        lambda e: e.name == "DealWon" and e.data["deal_id"] == deal["id"],
    )
    record, event = found[0]
    headers = dict(record.headers)
    assert (
        record.key.decode() == deal["customer_id"]
        and headers["ce_subject"].decode() == deal["customer_id"]
    )
    assert headers["ce_type"] == b"ecrm.sales.DealWon.v1" and headers["ce_source"] == b"/ecrm/sales"
    assert headers["ce_specversion"] == b"1.0"
    assert event.data["amount"] == 1000 and event.data["currency"] == "EUR"
    names = {
        e.name
        for _, e in await wait_for_events(
            infra.bootstrap,
            "ecrm.sales.deal",
            lambda e: e.data.get("deal_id") == deal["id"],
            count=3,
        )
    }
    assert names == {"DealCreated", "DealStageChanged", "DealWon"}


async def test_unknown_stage_and_lost_without_reason_are_422_and_change_nothing(
    infra, sales, http, auth
):
    deal = await new_deal(http, sales, auth)
    unknown = await move(http, sales, auth, deal, stage="closed")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "stage"
    no_reason = await move(http, sales, auth, deal, stage="lost")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "lost_reason"
    reason_when_open = await move(http, sales, auth, deal, stage="proposal", lost_reason="price")
    assert reason_when_open.status_code == 422
    assert reason_when_open.json()["errors"][0]["field"] == "lost_reason"
    current = (await http.get(f"{sales}/api/v1/deals/{deal['id']}", headers=auth)).json()
    assert current["stage"] == "qualification" and current["version"] == 1
    lost = await move(http, sales, auth, deal, stage="lost", lost_reason="went with a competitor")
    assert lost.status_code == 200 and lost.json()["lost_reason"] == "went with a competitor"
    found = await wait_for_events(
        infra.bootstrap,
        "ecrm.sales.deal",
        lambda e: e.name == "DealLost" and e.data["deal_id"] == deal["id"],
    )
    assert found[0][1].data["reason"] == "went with a competitor"
    reopened = await move(http, sales, auth, deal, stage="negotiation")
    assert reopened.json()["lost_reason"] is None and reopened.json()["closed_at"] is None


async def test_a_stale_if_match_is_412_and_bad_input_names_the_field(sales, http, auth):
    deal = await new_deal(http, sales, auth)
    assert (await move(http, sales, auth, deal, '"1"', stage="proposal")).status_code == 200
    stale = await move(http, sales, auth, deal, '"1"', stage="negotiation")
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    assert (await move(http, sales, auth, deal, "garbage", stage="won")).status_code == 422
    cases = [
        ({"customer_id": "nope"}, "customer_id"),
        ({"amount": -1}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"account_id": str(uuid.uuid4())}, "account_id"),
        ({"pipeline_id": "nope"}, "pipeline_id"),
        ({"expected_close": "soon"}, "expected_close"),
        ({"amount": 1.234}, "amount"),
    ]
    for fields, field in cases:
        body = {
            "name": "X",
            "customer_id": str(uuid.uuid4()),
            "amount": 10,
            "currency": "EUR",
        } | fields
        response = await http.post(f"{sales}/api/v1/deals", json=body, headers=auth)
        assert response.status_code == 422, (fields, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (fields, response.json())
    assert (await http.get(f"{sales}/api/v1/deals/{uuid.uuid4()}", headers=auth)).status_code == 404
    assert (await http.get(f"{sales}/api/v1/deals/not-an-id", headers=auth)).status_code == 404


async def test_board_forecast_and_stats_add_up(infra, sales, http, auth):
    pipeline = await new_pipeline(http, sales, auth)
    a = await new_deal(
        http, sales, auth, pipeline_id=pipeline, amount=1000, expected_close="2030-01-10"
    )
    b = await new_deal(
        http, sales, auth, pipeline_id=pipeline, amount=500, expected_close="2030-01-20"
    )
    c = await new_deal(
        http,
        sales,
        auth,
        pipeline_id=pipeline,
        amount=300,
        currency="USD",
        expected_close="2030-02-01",
    )
    d = await new_deal(http, sales, auth, pipeline_id=pipeline, amount=700)
    e = await new_deal(
        http, sales, auth, pipeline_id=pipeline, amount=900, expected_close="2030-01-05"
    )
    assert (await move(http, sales, auth, b, stage="proposal")).status_code == 200
    assert (await move(http, sales, auth, c, stage="won")).status_code == 200
    assert (await move(http, sales, auth, e, stage="lost", lost_reason="budget")).status_code == 200
    assert (
        await move(http, sales, auth, d, stage="custom")
    ).status_code == 422  # not a stage of this pipeline

    board = (await http.get(f"{sales}/api/v1/pipelines/{pipeline}/board", headers=auth)).json()
    assert [(s["stage"], s["count"], s["amount"]) for s in board["stages"]] == [
        ("discovery", 2, {"EUR": 1700.0}),
        ("proposal", 1, {"EUR": 500.0}),
        ("won", 1, {"USD": 300.0}),
        ("lost", 1, {"EUR": 900.0}),
    ]

    forecast = (
        await http.get(f"{sales}/api/v1/pipelines/{pipeline}/forecast", headers=auth)
    ).json()
    assert forecast["months"] == [
        {"month": "2030-01", "count": 2, "amount": {"EUR": 1500.0}, "weighted": {"EUR": 450.0}},
        {"month": "2030-02", "count": 1, "amount": {"USD": 300.0}, "weighted": {"USD": 300.0}},
    ]
    assert forecast["unscheduled"] == {
        "count": 1,
        "amount": {"EUR": 700.0},
        "weighted": {"EUR": 140.0},
    }

    conn = await asyncpg.connect(infra.dsn("sales"))  # b entered discovery two days before it left
    try:
        await conn.execute(
            "UPDATE deal_stage_history SET at = at - interval '2 days'"
            " WHERE deal_id = $1 AND from_stage IS NULL",
            uuid.UUID(b["id"]),
        )
    finally:
        await conn.close()
    stats = (await http.get(f"{sales}/api/v1/pipelines/{pipeline}/stats", headers=auth)).json()
    assert stats["deals"] == {"won": 1, "lost": 1, "open": 3} and stats["win_rate"] == 0.5
    discovery = next(s for s in stats["stages"] if s["stage"] == "discovery")
    assert (
        discovery["completed_stays"] == 3 and 0.6 < discovery["avg_days"] < 0.7
    )  # (2 + 0 + 0) / 3
    assert a["stage"] == "discovery"
    assert (await http.get(f"{sales}/api/v1/pipelines/nope/board", headers=auth)).status_code == 404


async def test_pipeline_input_is_validated(sales, http, auth):
    cases = [
        ({"name": "P", "stages": []}, "stages"),
        ({"name": "P", "stages": [{"name": "a", "probability": 2}]}, "stages.0.probability"),
        (
            {
                "name": "P",
                "stages": [{"name": "a", "probability": 0.1}, {"name": "a", "probability": 0.2}],
            },
            "stages",
        ),
        ({"name": "P", "stages": [{"name": "won", "probability": 1}]}, "stages"),
        ({"id": "Bad Id", "name": "P", "stages": [{"name": "a", "probability": 0.1}]}, "id"),
    ]
    for body, field in cases:
        response = await http.post(f"{sales}/api/v1/pipelines", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (body, response.json())
    taken = await http.post(
        f"{sales}/api/v1/pipelines",
        json={"id": "default", "name": "P", "stages": [{"name": "a", "probability": 0.1}]},
        headers=auth,
    )
    assert taken.status_code == 409


async def test_activities_are_logged_and_overdue_tasks_listed(infra, sales, http, auth):
    owner = f"rep-{uuid.uuid4().hex[:8]}"
    deal = await new_deal(http, sales, auth, owner=owner)
    url = f"{sales}/api/v1/deals/{deal['id']}/activities"
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    late = (
        await http.post(
            url, json={"kind": "task", "subject": "Send the quote", "due_at": past}, headers=auth
        )
    ).json()
    assert (
        await http.post(
            url, json={"kind": "task", "subject": "Call back", "due_at": future}, headers=auth
        )
    ).status_code == 201
    assert (
        await http.post(url, json={"kind": "note", "subject": "Met at the fair"}, headers=auth)
    ).status_code == 201
    no_due = await http.post(url, json={"kind": "task", "subject": "Later"}, headers=auth)
    assert no_due.status_code == 422 and no_due.json()["errors"][0]["field"] == "due_at"
    bad_kind = await http.post(url, json={"kind": "email", "subject": "x"}, headers=auth)
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "kind"
    assert len((await http.get(url, headers=auth)).json()["items"]) == 3

    overdue_url = f"{sales}/api/v1/deals/activities/overdue"
    overdue = (await http.get(overdue_url, params={"owner": owner}, headers=auth)).json()["items"]
    assert [t["id"] for t in overdue] == [late["id"]] and overdue[0]["deal_name"] == "Big one"
    done = await http.patch(f"{url}/{late['id']}", json={"done": True}, headers=auth)
    assert done.status_code == 200 and done.json()["done_at"]
    assert (await http.get(overdue_url, params={"owner": owner}, headers=auth)).json()[
        "items"
    ] == []
    logged = await wait_for_events(
        infra.bootstrap,
        "ecrm.sales.deal",
        lambda e: e.name == "ActivityLogged" and e.data["deal_id"] == deal["id"],
        count=3,
    )
    assert {r.key.decode() for r, _ in logged} == {deal["customer_id"]}
