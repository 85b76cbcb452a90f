"""Customers: input contracts and the pure rules (normalise, merge). No I/O here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import Field, ValidationInfo, field_validator

from shared.events.contacts import ConsentState
from shared.inputs import PatchInput, StrictInput, omittable
from shared.text import single_line

Channel = Literal["email", "sms", "phone", "push"]
Stage = Literal[
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]
IdentityKind = Literal["anonymous_id", "user_id", "loyalty_id", "email"]
MAX_TAGS = 50
MAX_ATTRIBUTES = 100


def normalise_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return result.normalized.lower()


def normalise_phone(value: str, region: str = "US") -> str:
    try:
        number = phonenumbers.parse(value, None if value.strip().startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip()
        if not clean or len(clean) > 64:
            raise ValueError("each tag is 1 to 64 characters")
        seen.setdefault(clean, None)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return list(seen)


class _Editable(StrictInput):
    phone: str | None = Field(default=None, max_length=40)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    tags: list[str] | None = None
    attributes: dict[str, Any] | None = None
    stage: Stage | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None

    @field_validator("first_name", "last_name", "company")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        return single_line(v)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return normalise_tags(v) if v is not None else None

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and len(v) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
        return v


class CustomerIn(_Editable):
    email: str | None = Field(default=None, max_length=320)
    consent: dict[Channel, ConsentState] = {}
    identities: list[IdentityIn] = []

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalise_email(v) if v else None


class CustomerPatch(PatchInput, _Editable):
    email: str | None = Field(default=None, max_length=320)
    tags: list[str] = omittable()
    attributes: dict[str, Any] = omittable()
    stage: Stage = omittable()

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalise_email(v) if v else None


class IdentityIn(StrictInput):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=200)

    @field_validator("value")
    @classmethod
    def _address(cls, v: str, info: ValidationInfo) -> str:
        # An email identity is looked up as an address (rows.find_by_email): stored normalised.
        return normalise_email(v) if info.data.get("kind") == "email" else v


class IdentifyIn(StrictInput):
    """Find-or-create by email and/or external identities."""

    email: str | None = Field(default=None, max_length=320)
    identities: list[IdentityIn] = []
    traits: dict[str, Any] = {}

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalise_email(v) if v else None


class ConsentIn(StrictInput):
    channel: Channel
    state: ConsentState
    source: str = Field(default="api", max_length=64)
    legal_basis: str | None = Field(default=None, max_length=64)


class MergeIn(StrictInput):
    merged_id: str


CustomerIn.model_rebuild()


def consent_entry(state: str, source: str, at: datetime) -> dict[str, str]:
    return {"state": state, "source": source, "at": at.isoformat()}


def traits_to_fields(traits: dict[str, Any]) -> dict[str, Any]:
    """Segment-style identify traits -> customer fields we understand; the rest are attributes."""
    aliases = {
        "firstName": "first_name",
        "lastName": "last_name",
        "first_name": "first_name",
        "last_name": "last_name",
        "phone": "phone",
        "company": "company",
    }
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in traits.items():
        if key == "email":
            continue
        target = aliases.get(key)
        if target and isinstance(value, str):
            fields[target] = " ".join(value.split())[:200]  # one line: names reach mail headers
        elif key == "company" and isinstance(value, dict) and isinstance(value.get("name"), str):
            fields["company"] = value["name"]
        else:
            attributes[key] = value
    if "phone" in fields:
        try:
            fields["phone"] = normalise_phone(fields["phone"])
        except ValueError:
            attributes["phone"] = fields.pop("phone")
    if attributes:
        fields["attributes"] = dict(list(attributes.items())[:MAX_ATTRIBUTES])
    return fields


def merged_fields(survivor: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """The survivor keeps its values; the merged customer fills what the survivor lacks."""
    out: dict[str, Any] = {}
    for field in ("phone", "first_name", "last_name", "company"):
        if not survivor.get(field) and merged.get(field):
            out[field] = merged[field]
    tags = list(dict.fromkeys([*survivor.get("tags", []), *merged.get("tags", [])]))[:MAX_TAGS]
    if tags != list(survivor.get("tags", [])):
        out["tags"] = tags
    attributes = {**(merged.get("attributes") or {}), **(survivor.get("attributes") or {})}
    if attributes != (survivor.get("attributes") or {}):
        out["attributes"] = attributes
    consent = dict(survivor.get("consent") or {})
    for channel, entry in (merged.get("consent") or {}).items():
        mine = consent.get(channel)
        if _takes_over(entry, mine):
            consent[channel] = entry
    if consent != (survivor.get("consent") or {}):
        out["consent"] = consent
    return out


DECIDED = ("subscribed", "unsubscribed")


def _takes_over(entry: dict[str, Any], mine: dict[str, Any] | None) -> bool:
    """The merged customer's consent for a channel replaces the survivor's when the survivor has
    none, or a request still unconfirmed and the merged one a decision, or an older decision."""
    if mine is None or mine.get("state") == "unknown":
        return True
    if entry.get("state") not in DECIDED:
        return False
    return mine.get("state") == "pending" or str(entry.get("at", "")) > str(mine.get("at", ""))


STAGE_ORDER = [
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
]


def advances(current: str, new: str) -> bool:
    """Lifecycle stages only move forward through automation (the API may set any stage)."""
    if current not in STAGE_ORDER or new not in STAGE_ORDER:
        return False
    return STAGE_ORDER.index(new) > STAGE_ORDER.index(current)
