"""Segments: invalid rules name their node, references and cycles, real-time membership."""

from __future__ import annotations

import pytest

from tests.services.campaigns.conftest import (
    built,
    members,
    new_customer,
    new_segment,
    projected,
)
from tests.support.events import eventually, wait_for_events

INVALID = [
    ({"all": [{"tag": "a"}, {"attribute": "plan", "op": "like", "value": 1}]}, "rule.all[1].op"),
    ({"any": []}, "rule.any"),
    ({"not": {"tag": ""}}, "rule.not.tag"),
    ({"tag": "a", "stage": "lead"}, "rule"),
    ({"attribute": "plan", "op": "in", "value": "pro"}, "rule.value"),
    ({"metric": "total_spent", "op": "gte", "value": "100"}, "rule.value"),
    ({"metric": "visits", "op": "gte", "value": 1}, "rule.metric"),
    ({"event": "Order Placed", "within_days": 0}, "rule.within_days"),
    ({"all": [{"consent": "email", "state": "maybe"}]}, "rule.all[0].state"),
    ({"any": [{"tag": "x", "colour": "red"}]}, "rule.any[0].colour"),
    ({"segment": "00000000-0000-0000-0000-000000000000"}, "rule.segment"),
    ("vip", "rule"),
]


@pytest.mark.parametrize(("rule", "path"), INVALID)
async def test_invalid_rules_get_422_naming_the_node(campaigns, http, auth, rule, path):
    for url in ("/api/v1/segments", "/api/v1/segments/preview"):
        response = await http.post(
            f"{campaigns}{url}",
            json={"name": "x", "rule": rule} if url.endswith("segments") else {"rule": rule},
            headers=auth,
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == path


async def test_scopes_are_checked(infra, campaigns, http):
    no_token = await http.get(f"{campaigns}/api/v1/segments")
    assert no_token.status_code == 401
    reader = {"Authorization": f"Bearer {infra.token('campaigns:read')}"}
    assert (await http.get(f"{campaigns}/api/v1/segments", headers=reader)).status_code == 200
    denied = await http.post(f"{campaigns}/api/v1/segments", json={}, headers=reader)
    assert denied.status_code == 403


async def test_segment_references_and_cycles(contacts, campaigns, http, auth, tag):
    base = await new_segment(http, campaigns, auth, {"tag": tag})
    outer = await new_segment(
        http, campaigns, auth, {"all": [{"segment": base["id"]}, {"stage": "customer"}]}
    )
    cyclic = await http.patch(
        f"{campaigns}/api/v1/segments/{base['id']}",
        json={"rule": {"any": [{"tag": tag}, {"segment": outer["id"]}]}},
        headers=auth,
    )
    assert cyclic.status_code == 422, cyclic.text
    assert cyclic.json()["errors"][0]["field"] == "rule.any[1].segment"
    referenced = await http.delete(f"{campaigns}/api/v1/segments/{base['id']}", headers=auth)
    assert referenced.status_code == 409

    customer = await new_customer(http, contacts, auth, tags=[tag], stage="customer")
    await eventually(lambda: _has(http, campaigns, auth, outer["id"], customer["id"]), 30)
    # changing the referenced segment rebuilds the one that uses it
    changed = await http.patch(
        f"{campaigns}/api/v1/segments/{base['id']}",
        json={"rule": {"tag": f"{tag}-other"}},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert (await built(http, campaigns, auth, base["id"]))["member_count"] == 0
    assert (await built(http, campaigns, auth, outer["id"]))["member_count"] == 0
    assert await members(http, campaigns, auth, outer["id"]) == set()


async def _has(http, campaigns, auth, segment_id, customer_id) -> bool:
    return customer_id in await members(http, campaigns, auth, segment_id)


async def test_membership_follows_events_in_real_time(infra, contacts, campaigns, http, auth, tag):
    rule = {
        "all": [
            {"tag": tag},
            {"attribute": "plan", "op": "eq", "value": "pro"},
            {"consent": "email"},
        ]
    }
    segment = await new_segment(http, campaigns, auth, rule)
    assert segment["member_count"] == 0
    customer = await new_customer(
        http,
        contacts,
        auth,
        tags=[tag],
        attributes={"plan": "pro"},
        consent={"email": "subscribed"},
    )
    cid = customer["id"]
    await eventually(lambda: _has(http, campaigns, auth, segment["id"], cid), 30)
    await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.segment",
        lambda e: e.data["customer_id"] == cid and e.data["change"] == "entered",
    )

    patched = await http.patch(
        f"{contacts}/api/v1/customers/{cid}", json={"attributes": {"plan": "free"}}, headers=auth
    )
    assert patched.status_code == 200
    left = await wait_for_events(
        infra.bootstrap,
        "ecrm.campaigns.segment",
        lambda e: e.data["customer_id"] == cid and e.data["change"] == "left",
    )
    assert left[0][0].key.decode() == cid
    assert await members(http, campaigns, auth, segment["id"]) == set()
    await projected(http, campaigns, auth, {"tag": tag}, 1)


async def test_a_segment_past_a_chunk_of_customers_is_built_in_the_background(
    contacts, campaigns, http, auth, tag
):
    people = [(await new_customer(http, contacts, auth, tags=[tag]))["id"] for _ in range(30)]
    await projected(http, campaigns, auth, {"tag": tag}, len(people))
    response = await http.post(
        f"{campaigns}/api/v1/segments", json={"name": "big", "rule": {"tag": tag}}, headers=auth
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "building" and created["built_at"] is None  # 30 > BUILD_CHUNK
    segment = await built(http, campaigns, auth, created["id"])
    assert segment["member_count"] == len(people) and segment["built_at"] is not None
    assert await members(http, campaigns, auth, segment["id"]) == set(people)
