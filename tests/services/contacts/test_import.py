"""Importing customers on a real contacts process, PostgreSQL and broker: CSV and JSON rows,
each applied once, never re-subscribing anyone, refused rows reported while the rest are kept."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg

from tests.support.events import eventually, wait_for_events

CSV = {"Content-Type": "text/csv"}
JSON_BODY = {"Content-Type": "application/json"}


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


async def _import(http, contacts, auth, body: bytes, query: str = "", kind=CSV):  # type: ignore[no-untyped-def]
    return await http.post(
        f"{contacts}/api/v1/customers/import{query}", content=body, headers=auth | kind
    )


async def _customer(http, contacts, auth, email: str) -> dict:  # type: ignore[no-untyped-def]
    found = await http.get(f"{contacts}/api/v1/customers", params={"email": email}, headers=auth)
    (customer,) = found.json()["items"]
    full = await http.get(f"{contacts}/api/v1/customers/{customer['id']}", headers=auth)
    return full.json()


async def _outbox_rows(infra, customer_ids: list[str]) -> int:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(infra.dsn("contacts"))
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE key = ANY($1)", customer_ids)
    finally:
        await conn.close()


async def test_a_csv_file_creates_customers_and_reports_refused_lines(infra, contacts, http, auth):
    tag = uuid.uuid4().hex[:8]
    ada, grace = f"ada.{tag}@example.com", f"grace.{tag}@example.com"
    body = (
        "\ufeff"
        + _csv(
            "Email,First Name,last_name,tags,consent_email,loyalty_id,attributes.Plan",
            f"{ada.upper()},Ada,Lovelace,vip;{tag},subscribed,L-{tag},gold",
            "not-an-address,Bob,,,,,",
            ",,,,,,",
            f'"{grace}","Grace","Hopper, Jr.",,unsubscribed,,',
            f"{tag}.x@example.com,Extra,Cells,,,,,too many",
        ).decode()
    )
    response = await _import(http, contacts, auth, body.encode(), "?legal_basis=consent")
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["unchanged"]) == (2, 0, 0)
    assert [(r["row"], r["errors"][0]["field"]) for r in result["rejected"]] == [
        (3, "email"),
        (6, "row"),
    ]

    first = await _customer(http, contacts, auth, ada)
    assert (first["first_name"], first["last_name"]) == ("Ada", "Lovelace")
    assert first["tags"] == ["vip", tag] and first["attributes"] == {"Plan": "gold"}
    assert first["consent_details"]["email"]["source"] == "import"
    assert first["identities"] == [{"kind": "loyalty_id", "value": f"L-{tag}"}]
    history = await http.get(
        f"{contacts}/api/v1/customers/{first['id']}/consent/history", headers=auth
    )
    assert [(h["state"], h["source"], h["legal_basis"]) for h in history.json()["items"]] == [
        ("subscribed", "import", "consent")
    ]
    second = await _customer(http, contacts, auth, grace)
    assert second["last_name"] == "Hopper, Jr." and second["consent"] == {"email": "unsubscribed"}

    events = await wait_for_events(
        infra.bootstrap,
        "ecrm.contacts.customer",
        lambda e: e.subject == first["id"],
        count=3,
    )
    assert sorted(e.name for _, e in events) == [
        "ConsentChanged",
        "CustomerCreated",
        "IdentityLinked",
    ]


async def test_sending_the_file_again_changes_nothing_and_publishes_nothing(
    infra, contacts, http, auth
):
    tag = uuid.uuid4().hex[:8]
    lines = [f"p{i}.{tag}@example.com,Name{i},t{i % 3},subscribed" for i in range(450)]
    header = "email,first_name,tags,consent_email"
    first_part = await _import(http, contacts, auth, _csv(header, *lines[:250]))
    assert first_part.json() == {"created": 250, "updated": 0, "unchanged": 0, "rejected": []}
    # the first answer was lost after its batches committed: the whole file is sent again
    whole = await _import(http, contacts, auth, _csv(header, *lines))
    assert whole.json() == {"created": 200, "updated": 0, "unchanged": 250, "rejected": []}
    ids = []
    for i in (0, 249, 250, 449):
        ids.append((await _customer(http, contacts, auth, f"p{i}.{tag}@example.com"))["id"])
    published = await _outbox_rows(infra, ids)
    again = await _import(http, contacts, auth, _csv(header, *lines))
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 450, "rejected": []}
    assert await _outbox_rows(infra, ids) == published == 2 * len(ids)


async def test_fill_keeps_what_is_set_and_overwrite_replaces_it(contacts, http, auth, email):
    created = await http.post(
        f"{contacts}/api/v1/customers",
        json={"email": email, "first_name": "Ada", "tags": ["vip"], "stage": "customer"},
        headers=auth,
    )
    assert created.status_code == 201
    header = "email,first_name,last_name,company,stage,tags,attributes.plan"
    row = f"{email},Augusta,Lovelace,Analytical,lead,imported,gold"
    filled = await _import(http, contacts, auth, _csv(header, row))
    assert filled.json()["updated"] == 1
    customer = await _customer(http, contacts, auth, email)
    assert (customer["first_name"], customer["last_name"]) == ("Ada", "Lovelace")
    assert customer["stage"] == "customer"  # fill never moves a stage back
    assert customer["tags"] == ["vip", "imported"] and customer["attributes"] == {"plan": "gold"}

    replaced = await _import(http, contacts, auth, _csv(header, row), "?update=overwrite")
    assert replaced.json()["updated"] == 1
    customer = await _customer(http, contacts, auth, email)
    assert (customer["first_name"], customer["stage"]) == ("Augusta", "lead")
    assert customer["tags"] == ["vip", "imported"]  # tags are only ever added


async def test_an_import_never_subscribes_someone_who_unsubscribed(contacts, http, auth, email):
    other = f"o.{email}"
    for address, state in ((email, "unsubscribed"), (other, "subscribed")):
        body = {"email": address, "consent": {"email": state}}
        assert (
            await http.post(f"{contacts}/api/v1/customers", json=body, headers=auth)
        ).status_code == 201
    header = "email,consent_email"
    result = await _import(
        http, contacts, auth, _csv(header, f"{email},subscribed", f"{other},unsubscribed")
    )
    assert result.json()["unchanged"] == 1 and result.json()["updated"] == 1
    assert (await _customer(http, contacts, auth, email))["consent"] == {"email": "unsubscribed"}
    withdrawn = await _customer(http, contacts, auth, other)
    assert withdrawn["consent_details"]["email"]["source"] == "import"


async def test_rows_are_found_by_identity_and_refused_when_keys_name_two_people(
    contacts, http, auth, email
):
    loyalty = f"L-{uuid.uuid4().hex[:8]}"
    holder = await http.post(
        f"{contacts}/api/v1/customers",
        json={"identities": [{"kind": "loyalty_id", "value": loyalty}]},
        headers=auth,
    )
    someone = f"s.{email}"
    await http.post(f"{contacts}/api/v1/customers", json={"email": someone}, headers=auth)
    body = {
        "customers": [
            {"identities": [{"kind": "loyalty_id", "value": loyalty}], "email": email},
            {"email": someone, "identities": [{"kind": "loyalty_id", "value": loyalty}]},
            {"first_name": "Nobody"},
        ]
    }
    response = await _import(http, contacts, auth, json.dumps(body).encode(), kind=JSON_BODY)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["updated"] == 1
    assert [(r["row"], r["errors"][0]["field"]) for r in result["rejected"]] == [
        (2, "identities"),
        (3, "email"),
    ]
    found = await _customer(http, contacts, auth, email)
    assert found["id"] == holder.json()["id"]  # the address filled in on the loyalty card holder


async def test_two_imports_of_the_same_people_in_opposite_orders_each_apply_once(
    contacts, http, auth
):
    tag = uuid.uuid4().hex[:8]
    lines = [f"c{i}.{tag}@example.com,L-{tag}-{i}" for i in range(600)]
    header = "email,loyalty_id"
    forward, backward = await asyncio.gather(
        _import(http, contacts, auth, _csv(header, *lines)),
        _import(http, contacts, auth, _csv(header, *reversed(lines))),
    )
    assert forward.status_code == backward.status_code == 200, (forward.text, backward.text)
    created = forward.json()["created"] + backward.json()["created"]
    unchanged = forward.json()["unchanged"] + backward.json()["unchanged"]
    assert (created, unchanged) == (600, 600)
    listed = await http.get(
        f"{contacts}/api/v1/customers", params={"email": f"c7.{tag}@example.com"}, headers=auth
    )
    assert len(listed.json()["items"]) == 1


async def test_bad_files_are_refused_whole_naming_the_problem(contacts, http, auth):
    cases = [
        (_csv("email,emial", "a@example.com,x"), CSV, 422, "columns"),
        (_csv("email,Email", "a@example.com,b@example.com"), CSV, 422, "columns"),
        ("email\nj\u00e9@example.com\n".encode("latin-1"), CSV, 422, "body"),
        (_csv("email"), CSV, 422, "body"),
        (_csv("email", "not-an-address"), CSV, 422, "rows.2.email"),
        (b'{"customers": [{"email": "a@example.com", "nope": 1}]}', JSON_BODY, 422, "rows.1.nope"),
        (b'{"people": []}', JSON_BODY, 422, "body"),
        (b'{"customers": [', JSON_BODY, 400, "body"),
        (b"email\n", {"Content-Type": "application/xml"}, 415, "Content-Type"),
        (_csv("email", *(f"x{i}@example.com" for i in range(5001))), CSV, 422, "body"),
    ]
    for body, kind, status, field in cases:
        response = await _import(http, contacts, auth, body, kind=kind)
        assert response.status_code == status, (body[:60], response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field, response.text


async def test_importing_needs_the_write_scope(infra, contacts, http):
    reader = {"Authorization": f"Bearer {infra.token('contacts:read')}"}
    response = await _import(http, contacts, reader, _csv("email", "a@example.com"))
    assert response.status_code == 403
    assert (await _import(http, contacts, {}, _csv("email", "a@example.com"))).status_code == 401


async def test_an_import_does_not_bring_back_an_erased_person(contacts, http, auth, email):
    loyalty = f"L-{uuid.uuid4().hex[:8]}"
    body = {"email": email, "identities": [{"kind": "loyalty_id", "value": loyalty}]}
    created = await http.post(f"{contacts}/api/v1/customers", json=body, headers=auth)
    customer = created.json()["id"]
    erased = await http.post(f"{contacts}/api/v1/customers/{customer}/erase", headers=auth)
    assert erased.status_code == 202, erased.text

    async def gone() -> bool:
        found = await http.get(f"{contacts}/api/v1/customers/{customer}", headers=auth)
        return found.status_code == 404

    assert await eventually(gone)
    other = f"n.{email}"
    rows = ["email,loyalty_id", f"{email.upper()},", f",{loyalty}", f"{other},"]
    result = (await _import(http, contacts, auth, _csv(*rows))).json()
    assert result["created"] == 1
    assert [(r["row"], r["errors"][0]["field"]) for r in result["rejected"]] == [
        (2, "email"),
        (3, "identities"),
    ]
    listed = await http.get(f"{contacts}/api/v1/customers", params={"email": email}, headers=auth)
    assert listed.json()["items"] == []
