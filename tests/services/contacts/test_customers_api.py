"""The customer API on a real contacts process, PostgreSQL and broker."""

from __future__ import annotations

import asyncpg

from tests.support.events import wait_for_events


async def test_create_publishes_customer_created_as_cloudevent_keyed_by_id(
    infra, contacts, http, auth, email
):
    body = {
        "email": email.upper(),
        "first_name": "Ada",
        "tags": ["vip"],
        "consent": {"email": "subscribed"},
    }
    response = await http.post(f"{contacts}/api/v1/customers", json=body, headers=auth)
    assert response.status_code == 201, response.text
    customer = response.json()
    assert customer["email"] == email and customer["consent"] == {"email": "subscribed"}
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/customers/{customer['id']}"

    found = await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "CustomerCreated" and e.data.get("email") == email,
    )
    record, event = found[0]
    assert record.key.decode() == customer["id"]
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"ecrm.contacts.CustomerCreated.v1"
    assert headers["ce_source"] == b"/ecrm/contacts"
    assert headers["ce_subject"].decode() == customer["id"]
    assert headers["content-type"] == b"application/json"
    assert event.data["tags"] == ["vip"] and event.data["version"] == 1


async def test_taken_email_is_a_conflict(contacts, http, auth, email):
    assert (
        await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    ).status_code == 201
    again = await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["field"] == "email"


async def test_an_email_identity_is_an_address_like_the_customers_own(contacts, http, auth, email):
    """Found by address (`find_by_email` looks at email identities too), so stored normalised:
    the same address in other letters cannot make a second customer."""
    first = await http.post(
        f"{contacts}/api/v1/customers",
        json={"identities": [{"kind": "email", "value": f" {email.upper()} "}]},
        headers=auth,
    )
    assert first.status_code == 201, first.text
    assert {"kind": "email", "value": email} in first.json()["identities"]
    second = await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    assert second.status_code == 409, second.text
    found = await http.post(
        f"{contacts}/api/v1/customers/identify", json={"email": email.upper()}, headers=auth
    )
    assert (found.status_code, found.json()["id"]) == (200, first.json()["id"]), found.text
    owner = "owner." + email
    assert (
        await http.post(f"{contacts}/api/v1/customers", json={"email": owner}, headers=auth)
    ).status_code == 201
    taken = await http.post(
        f"{contacts}/api/v1/customers",
        json={"identities": [{"kind": "email", "value": owner}]},
        headers=auth,
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["field"] == "identities"


async def test_identify_by_an_email_identity_finds_the_address_owner(contacts, http, auth, email):
    owner = await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    assert owner.status_code == 201, owner.text
    found = await http.post(
        f"{contacts}/api/v1/customers/identify",
        json={"identities": [{"kind": "email", "value": email.upper()}]},
        headers=auth,
    )
    assert (found.status_code, found.json()["id"]) == (200, owner.json()["id"]), found.text


async def test_bad_input_names_the_field_and_writes_nothing(infra, contacts, http, auth, email):
    cases = [
        ({"email": "not-an-email"}, "email"),
        ({"email": email, "phone": "12"}, "phone"),
        ({"email": email, "consent": {"email": "perhaps"}}, "consent.email"),
        ({"email": email, "shoe_size": 42}, "shoe_size"),
        ({"email": email, "stage": "king"}, "stage"),
        ({"email": email, "tags": "vip"}, "tags"),
        ({"email": email, "identities": [{"kind": "email", "value": "nope"}]},
         "identities.0.value"),
    ]  # fmt: skip
    for body, field in cases:
        response = await http.post(f"{contacts}/api/v1/customers", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in problem["errors"]], problem
    malformed = await http.post(
        f"{contacts}/api/v1/customers",
        content=b"{nope",
        headers=auth | {"content-type": "application/json"},
    )
    assert malformed.status_code == 400
    conn = await asyncpg.connect(infra.dsn("contacts"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM customers WHERE email = $1", email) == 0
    finally:
        await conn.close()


async def test_401_without_token_and_403_without_scope(infra, contacts, http, email):
    url = f"{contacts}/api/v1/customers"
    assert (await http.post(url, json={"email": email})).status_code == 401
    assert (
        await http.post(url, content=b"{broken", headers={"content-type": "application/json"})
    ).status_code == 401
    bad = {"Authorization": "Bearer not.a.token"}
    assert (await http.get(url, headers=bad)).status_code == 401
    reader = {"Authorization": f"Bearer {infra.token('contacts:read')}"}
    assert (await http.post(url, json={"email": email}, headers=reader)).status_code == 403
    assert (await http.get(url, headers=reader)).status_code == 200
    other = {"Authorization": f"Bearer {infra.token('support:read')}"}
    forbidden = await http.get(url, headers=other)
    assert forbidden.status_code == 403 and "contacts:read" in forbidden.json()["detail"]


async def test_patch_with_stale_etag_is_refused(infra, contacts, http, auth, email):
    created = (
        await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    ).json()
    url = f"{contacts}/api/v1/customers/{created['id']}"
    ok = await http.patch(url, json={"last_name": "Lovelace"}, headers=auth | {"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.headers["etag"] == '"2"'
    stale = await http.patch(url, json={"last_name": "Byron"}, headers=auth | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await http.get(url, headers=auth)).json()["last_name"] == "Lovelace"
    updated = await wait_for_events(  # the snapshot carries its version: readers keep the newest
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.name == "CustomerUpdated" and e.data["customer_id"] == created["id"],
    )
    assert [event.data["version"] for _, event in updated] == [2]


async def test_unknown_customer_is_404(contacts, http, auth):
    assert (
        await http.get(
            f"{contacts}/api/v1/customers/0190d5a8-0000-7000-8000-000000000000", headers=auth
        )
    ).status_code == 404
    assert (
        await http.get(f"{contacts}/api/v1/customers/not-an-id", headers=auth)
    ).status_code == 404


async def test_search_by_tag_and_name_pages_with_cursor(contacts, http, auth, email):
    tag = "t" + email.split("@")[0].split(".")[1]
    for i in range(5):
        body = {"email": f"{i}.{email}", "first_name": f"Grace{i}", "tags": [tag]}
        assert (
            await http.post(f"{contacts}/api/v1/customers", json=body, headers=auth)
        ).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"tag": tag, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await http.get(f"{contacts}/api/v1/customers", params=params, headers=auth)).json()
        seen += [c["email"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"{i}.{email}" for i in range(5)]
    by_email = (
        await http.get(f"{contacts}/api/v1/customers", params={"email": f"3.{email}"}, headers=auth)
    ).json()
    assert [c["first_name"] for c in by_email["items"]] == ["Grace3"]
    by_name = (
        await http.get(
            f"{contacts}/api/v1/customers", params={"name": "grace", "tag": tag}, headers=auth
        )
    ).json()
    assert len(by_name["items"]) == 5
    bad = await http.get(f"{contacts}/api/v1/customers", params={"limit": 0}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


async def test_consent_change_is_recorded_and_published(infra, contacts, http, auth, email):
    created = (
        await http.post(
            f"{contacts}/api/v1/customers",
            json={"email": email, "consent": {"email": "subscribed"}},
            headers=auth,
        )
    ).json()
    url = f"{contacts}/api/v1/customers/{created['id']}"
    response = await http.put(
        f"{url}/consent",
        json={
            "channel": "email",
            "state": "unsubscribed",
            "source": "api",
            "legal_basis": "consent",
        },
        headers=auth,
    )
    assert response.status_code == 200 and response.json()["consent"]["email"] == "unsubscribed"
    history = (await http.get(f"{url}/consent/history", headers=auth)).json()["items"]
    assert [h["state"] for h in history] == ["unsubscribed", "subscribed"]
    await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: (
            e.name == "ConsentChanged"
            and e.key == created["id"]
            and e.data["state"] == "unsubscribed"
        ),
    )


async def test_merge_survivor_keeps_everything_and_merged_id_resolves(
    infra, contacts, http, auth, email
):
    a = (
        await http.post(
            f"{contacts}/api/v1/customers",
            json={"email": email, "first_name": "Ada", "tags": ["vip"]},
            headers=auth,
        )
    ).json()
    other = "other." + email
    b = (
        await http.post(
            f"{contacts}/api/v1/customers",
            json={
                "email": other,
                "phone": "+14155552671",
                "tags": ["b2b"],
                "identities": [{"kind": "loyalty_id", "value": "L-" + email}],
            },
            headers=auth,
        )
    ).json()
    merged = await http.post(
        f"{contacts}/api/v1/customers/{a['id']}/merge", json={"merged_id": b["id"]}, headers=auth
    )
    assert merged.status_code == 200, merged.text
    survivor = merged.json()
    assert (
        survivor["id"] == a["id"]
        and survivor["first_name"] == "Ada"
        and survivor["phone"] == "+14155552671"
    )
    assert survivor["tags"] == ["vip", "b2b"]
    assert {"kind": "loyalty_id", "value": "L-" + email} in survivor["identities"]
    resolved = (await http.get(f"{contacts}/api/v1/customers/{b['id']}", headers=auth)).json()
    assert resolved["id"] == a["id"]
    by_old_email = await http.post(
        f"{contacts}/api/v1/customers/identify", json={"email": other}, headers=auth
    )
    assert by_old_email.json()["id"] == a["id"] and by_old_email.json()["created"] is False
    again = await http.post(
        f"{contacts}/api/v1/customers/{a['id']}/merge", json={"merged_id": b["id"]}, headers=auth
    )
    assert again.status_code == 409
    await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: (
            e.name == "CustomersMerged" and e.key == a["id"] and e.data["merged_id"] == b["id"]
        ),
    )


async def test_delete_frees_the_email(contacts, http, auth, email):
    a = (
        await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    ).json()
    assert (
        await http.delete(f"{contacts}/api/v1/customers/{a['id']}", headers=auth)
    ).status_code == 204
    assert (
        await http.get(f"{contacts}/api/v1/customers/{a['id']}", headers=auth)
    ).status_code == 404
    assert (
        await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    ).status_code == 201


async def test_a_revoked_token_is_refused_without_a_restart(infra, contacts, http):
    import asyncio
    import sys

    from tests.support.events import eventually

    token = infra.token("contacts:read")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await http.get(f"{contacts}/api/v1/customers", headers=headers)).status_code == 200
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecrm.cli", "token", "revoke", token, env=infra.env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "contacts" in out.decode()

    async def refused() -> bool:
        response = await http.get(f"{contacts}/api/v1/customers", headers=headers)
        return response.status_code == 401 and response.json()["title"] == "Token revoked"

    await eventually(refused, timeout=10)
    fresh = {"Authorization": f"Bearer {infra.token('contacts:read')}"}
    assert (await http.get(f"{contacts}/api/v1/customers", headers=fresh)).status_code == 200
