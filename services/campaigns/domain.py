"""Input contracts of the campaigns API (strict: unknown fields are refused)."""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from shared.inputs import PatchInput, StrictInput, omittable
from shared.text import single_line

Trigger = Literal["customer_created", "ticket_resolved", "order_placed", "consent_pending"]


class _Strict(StrictInput):
    model_config = ConfigDict(populate_by_name=True)


def check_from(value: str | None) -> str | None:
    if value is None:
        return None
    _, address = parseaddr(value)
    if "@" not in address or "\n" in value or "\r" in value:
        raise ValueError("must be an address like 'Shop <news@example.com>'")
    return value


class SegmentIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    rule: Any


class SegmentPatch(PatchInput):
    name: str = omittable(min_length=1, max_length=200)
    rule: dict[str, Any] = omittable()


class PreviewIn(_Strict):
    rule: Any


class _MailIn(_Strict):
    subject: str = Field(min_length=1, max_length=500)
    html: str = Field(min_length=1, max_length=500_000)
    from_address: str | None = Field(default=None, alias="from", max_length=320)

    @field_validator("from_address")
    @classmethod
    def _from(cls, v: str | None) -> str | None:
        return check_from(single_line(v))

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        return single_line(v) or v


class CampaignIn(_MailIn):
    name: str = Field(min_length=1, max_length=200)
    segment_id: str


class SendIn(_Strict):
    at: datetime | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2030-01-01T09:00:00Z")
        return v


class JourneyIn(_MailIn):
    name: str = Field(min_length=1, max_length=200)
    trigger: Trigger
    delay_seconds: int = Field(default=0, ge=0, le=90 * 86400)
    condition: Any = None
    transactional: bool = Field(default=False, validate_default=True)
    enabled: bool = True

    @field_validator("transactional")
    @classmethod
    def _confirmations_are_transactional(cls, v: bool, info: ValidationInfo) -> bool:
        # A double opt-in mail goes to people who have not subscribed (yet): only a
        # transactional mail may, and a marketing journey would skip every one of them.
        if info.data.get("trigger") == "consent_pending" and not v:
            raise ValueError("a consent_pending journey asks for consent: it must be transactional")
        return v


class JourneyPatch(PatchInput):
    name: str = omittable(min_length=1, max_length=200)
    enabled: bool = omittable()
    delay_seconds: int = omittable(ge=0, le=90 * 86400)
