"""Accounts on a real sales process: normalised unique domains, search, and customers
attached from contacts' real CustomerCreated events."""

from __future__ import annotations

import uuid

from tests.support.events import eventually, wait_for_events


async def test_create_normalises_the_domain_and_announces_the_account(
    infra, sales, http, auth, company
):
    body = {
        "name": "Acme",
        "domain": f"HTTPS://www.{company.upper()}/about?x=1",
        "industry": "Manufacturing",
        "size": "51-200",
        "owner": "rep@example.com",
    }
    created = await http.post(f"{sales}/api/v1/accounts", json=body, headers=auth)
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["domain"] == company and account["size"] == "51-200"
    assert created.headers["location"] == f"/api/v1/accounts/{account['id']}"
    again = await http.post(
        f"{sales}/api/v1/accounts", json={"name": "Other", "domain": company}, headers=auth
    )
    assert again.status_code == 409 and again.json()["field"] == "domain"
    found = await wait_for_events(
        infra.bootstrap,
        "ecrm.sales.account",
        lambda e: e.name == "AccountCreated" and e.data["account_id"] == account["id"],
    )
    record, event = found[0]
    assert record.key.decode() == account["id"] and event.data["domain"] == company


async def test_bad_account_input_names_the_field(sales, http, auth):
    cases = [
        ({"domain": "example.org"}, "name"),
        ({"name": "X", "domain": "not a domain"}, "domain"),
        ({"name": "X", "domain": "gmail.com"}, "domain"),
        ({"name": "X", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await http.post(f"{sales}/api/v1/accounts", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]]


async def test_list_searches_by_name_prefix_and_pages_with_a_cursor(sales, http, auth):
    prefix = f"zeta-{uuid.uuid4().hex[:8]}"
    for i in range(3):
        r = await http.post(
            f"{sales}/api/v1/accounts", json={"name": f"{prefix} {i}"}, headers=auth
        )
        assert r.status_code == 201
    first = (
        await http.get(
            f"{sales}/api/v1/accounts", params={"q": prefix.upper(), "limit": 2}, headers=auth
        )
    ).json()
    assert [a["name"] for a in first["items"]] == [f"{prefix} 0", f"{prefix} 1"] and first[
        "next_cursor"
    ]
    rest = (
        await http.get(
            f"{sales}/api/v1/accounts",
            params={"q": prefix, "limit": 2, "cursor": first["next_cursor"]},
            headers=auth,
        )
    ).json()
    assert [a["name"] for a in rest["items"]] == [f"{prefix} 2"] and rest["next_cursor"] is None
    bad = await http.get(f"{sales}/api/v1/accounts", params={"cursor": "%%%"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_patch_with_a_stale_etag_is_refused(sales, http, auth, company):
    account = (
        await http.post(
            f"{sales}/api/v1/accounts", json={"name": "Beta", "domain": company}, headers=auth
        )
    ).json()
    changed = await http.patch(
        f"{sales}/api/v1/accounts/{account['id']}",
        json={"industry": "Retail"},
        headers=auth | {"If-Match": '"1"'},
    )
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    stale = await http.patch(
        f"{sales}/api/v1/accounts/{account['id']}",
        json={"industry": "Food"},
        headers=auth | {"If-Match": '"1"'},
    )
    assert stale.status_code == 412
    got = (await http.get(f"{sales}/api/v1/accounts/{account['id']}", headers=auth)).json()
    assert got["industry"] == "Retail"


async def test_customers_join_the_account_of_their_email_domain(
    sales, contacts, http, auth, company
):
    account = (
        await http.post(
            f"{sales}/api/v1/accounts", json={"name": "Gamma", "domain": company}, headers=auth
        )
    ).json()
    employee = (
        await http.post(
            f"{contacts}/api/v1/customers", json={"email": f"ada@{company}"}, headers=auth
        )
    ).json()
    private = f"ada.{uuid.uuid4().hex[:8]}@gmail.com"
    outsider = (
        await http.post(f"{contacts}/api/v1/customers", json={"email": private}, headers=auth)
    ).json()

    async def members() -> list[str]:
        body = (
            await http.get(f"{sales}/api/v1/accounts/{account['id']}/customers", headers=auth)
        ).json()
        return [c["customer_id"] for c in body["items"]]

    assert await eventually(members, timeout=30) == [employee["id"]]
    # the private address moves to the company domain: the customer joins the account
    moved = await http.patch(
        f"{contacts}/api/v1/customers/{outsider['id']}",
        json={"email": f"grace@{company}"},
        headers=auth,
    )
    assert moved.status_code == 200
    await eventually(
        lambda: _equals(members(), sorted([employee["id"], outsider["id"]])), timeout=30
    )


async def test_an_account_created_later_collects_known_customers(
    sales, contacts, http, auth, company
):
    employee = (
        await http.post(
            f"{contacts}/api/v1/customers", json={"email": f"bob@{company}"}, headers=auth
        )
    ).json()

    async def projected() -> bool:  # sales has seen the customer (its score endpoint knows it)
        return (
            await http.get(f"{sales}/api/v1/customers/{employee['id']}/score", headers=auth)
        ).status_code == 200

    await eventually(projected, timeout=30)
    account = (
        await http.post(
            f"{sales}/api/v1/accounts", json={"name": "Delta", "domain": company}, headers=auth
        )
    ).json()
    listed = (
        await http.get(f"{sales}/api/v1/accounts/{account['id']}/customers", headers=auth)
    ).json()
    assert [c["customer_id"] for c in listed["items"]] == [employee["id"]]


async def test_tokens_are_checked_before_anything_else(infra, sales, http):
    url = f"{sales}/api/v1/accounts"
    assert (await http.get(url)).status_code == 401
    assert (await http.post(url, json={})).status_code == 401
    reader = {"Authorization": f"Bearer {infra.token('sales:read')}"}
    assert (await http.get(url, headers=reader)).status_code == 200
    assert (await http.post(url, json={"name": "X"}, headers=reader)).status_code == 403
    other = {"Authorization": f"Bearer {infra.token('contacts:read')}"}
    for path in (
        "/api/v1/accounts",
        "/api/v1/deals",
        "/api/v1/pipelines/default/board",
        "/api/v1/scoring/rules",
        f"/api/v1/customers/{uuid.uuid4()}/score",
    ):
        assert (await http.get(f"{sales}{path}", headers=other)).status_code == 403, path
    assert (await http.get(f"{sales}/openapi.json")).json()["info"]["title"] == "ecrm sales"


async def _equals(value, expected) -> bool:
    return sorted(await value) == expected
