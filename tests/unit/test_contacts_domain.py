import pytest
from pydantic import ValidationError

from services.contacts.domain import (
    CustomerIn,
    advances,
    merged_fields,
    normalise_email,
    normalise_phone,
    traits_to_fields,
)


def test_email_is_normalised_to_lower_case():
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("bad", ["nope", "a@", "@b.com", "a b@c.com"])
def test_invalid_emails_are_refused(bad):
    with pytest.raises(ValueError):
        normalise_email(bad)


def test_phone_is_normalised_to_e164():
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("(415) 555-2671") == "+14155552671"


def test_create_body_from_the_spec_validates():
    body = CustomerIn.model_validate(
        {
            "email": "a@example.com",
            "first_name": "Ada",
            "tags": ["vip"],
            "consent": {"email": "subscribed"},
        }
    )
    assert body.consent == {"email": "subscribed"}
    assert body.tags == ["vip"]


def test_unknown_fields_and_bad_consent_name_the_field():
    with pytest.raises(ValidationError) as err:
        CustomerIn.model_validate(
            {"email": "a@example.com", "colour": "red", "consent": {"email": "maybe"}}
        )
    fields = {".".join(map(str, e["loc"])) for e in err.value.errors()}
    assert fields == {"colour", "consent.email"}


def test_duplicate_tags_collapse():
    assert CustomerIn.model_validate({"tags": ["vip", " vip", "b2b"]}).tags == ["vip", "b2b"]


def test_merge_keeps_survivor_values_and_fills_gaps():
    survivor = {
        "first_name": "Ada",
        "phone": None,
        "tags": ["vip"],
        "attributes": {"plan": "pro"},
        "consent": {"email": {"state": "unknown", "source": "api", "at": "2026-01-01"}},
    }
    merged = {
        "first_name": "Augusta",
        "phone": "+14155552671",
        "tags": ["b2b", "vip"],
        "attributes": {"plan": "free", "city": "London"},
        "consent": {"email": {"state": "subscribed", "source": "api", "at": "2025-01-01"}},
    }
    out = merged_fields(survivor, merged)
    assert "first_name" not in out
    assert out["phone"] == "+14155552671"
    assert out["tags"] == ["vip", "b2b"]
    assert out["attributes"] == {"plan": "pro", "city": "London"}
    assert out["consent"]["email"]["state"] == "subscribed"


def test_traits_map_to_fields_and_attributes():
    fields = traits_to_fields(
        {"firstName": "Ada", "email": "x@y.z", "plan": "pro", "phone": "garbage"}
    )
    assert fields["first_name"] == "Ada"
    assert fields["attributes"] == {"plan": "pro", "phone": "garbage"}
    assert "email" not in fields


def test_stages_only_advance():
    assert advances("lead", "sales_qualified")
    assert not advances("customer", "sales_qualified")


def _consent(state: str, at: str) -> dict:
    return {"email": {"state": state, "source": "api", "at": at}}


@pytest.mark.parametrize(
    ("mine", "theirs", "kept"),
    [
        (("pending", "2026-02-01"), ("subscribed", "2025-01-01"), "subscribed"),
        (("pending", "2026-02-01"), ("unsubscribed", "2025-01-01"), "unsubscribed"),
        (("subscribed", "2025-01-01"), ("pending", "2026-02-01"), None),
        (("unsubscribed", "2025-01-01"), ("subscribed", "2026-02-01"), "subscribed"),
        (("subscribed", "2026-02-01"), ("unsubscribed", "2025-01-01"), None),
        (("unknown", "2026-02-01"), ("pending", "2025-01-01"), "pending"),
    ],
)
def test_a_merge_keeps_a_consent_decision_over_a_pending_request(mine, theirs, kept):
    out = merged_fields({"consent": _consent(*mine)}, {"consent": _consent(*theirs)})
    assert (out["consent"]["email"]["state"] if "consent" in out else None) == kept
