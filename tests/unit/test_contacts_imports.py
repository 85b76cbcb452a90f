"""What an imported row may change in a customer who exists: fill or overwrite, tags and
attributes only added, consent only withdrawn or given where there is none."""

from __future__ import annotations

import pytest

from services.contacts.imports import RowError, changes_for, consent_to_apply

CURRENT = {
    "email": "ada@example.com",
    "phone": None,
    "first_name": "Ada",
    "last_name": None,
    "company": None,
    "stage": "customer",
    "tags": ["vip"],
    "attributes": {"plan": "pro"},
}
ROW = {
    "email": "other@example.com",
    "phone": "+14155552671",
    "first_name": "Augusta",
    "stage": "lead",
    "tags": ["imported", "vip"],
    "attributes": {"plan": "free", "city": "London"},
}


def test_fill_only_fills_and_never_moves_a_stage_back():
    assert changes_for(CURRENT, ROW, overwrite=False) == {
        "phone": "+14155552671",
        "tags": ["vip", "imported"],
        "attributes": {"plan": "pro", "city": "London"},
    }


def test_overwrite_replaces_what_the_row_names_but_never_the_email():
    out = changes_for(CURRENT, ROW, overwrite=True)
    assert (out["first_name"], out["stage"]) == ("Augusta", "lead")
    assert out["attributes"] == {"plan": "free", "city": "London"} and "email" not in out


def test_an_unchanged_row_changes_nothing_and_a_missing_email_is_filled():
    same = {k: v for k, v in CURRENT.items() if v is not None}
    assert changes_for(CURRENT, same, overwrite=True) == {}
    assert changes_for(CURRENT | {"email": None}, {"email": "a@b.co"}, overwrite=False) == {
        "email": "a@b.co"
    }


def test_too_many_tags_refuse_the_row():
    with pytest.raises(RowError) as refused:
        changes_for(CURRENT, {"tags": [f"t{i}" for i in range(50)]}, overwrite=False)
    assert refused.value.field == "tags"


@pytest.mark.parametrize(
    ("now", "given", "applied"),
    [
        (None, "subscribed", "subscribed"),
        ("unknown", "pending", "pending"),
        ("unsubscribed", "subscribed", None),
        ("pending", "subscribed", None),
        ("subscribed", "unsubscribed", "unsubscribed"),
        ("pending", "unsubscribed", "unsubscribed"),
        ("unsubscribed", "unsubscribed", None),
        ("subscribed", "unknown", None),
    ],
)
def test_consent_is_only_withdrawn_or_given_where_there_is_none(now, given, applied):
    current = {"email": {"state": now}} if now else {}
    assert consent_to_apply(current, {"email": given}).get("email") == applied
