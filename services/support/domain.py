"""Tickets: input contracts and the pure rules (transitions, SLA clock, mail subjects). No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, field_validator

from shared.inputs import PatchInput, StrictInput, omittable
from shared.text import single_line

Status = Literal["new", "open", "pending", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Visibility = Literal["public", "internal"]
AuthorKind = Literal["agent", "customer"]
OpenChannel = Literal["api", "web"]

PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "resolved", "closed"}),
    "open": frozenset({"pending", "resolved", "closed"}),
    "pending": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
# The SLA clock stops while the ticket waits on the customer or is resolved.
PAUSED: frozenset[str] = frozenset({"pending", "resolved"})
RUNNING: frozenset[str] = frozenset({"new", "open"})
MAX_TAGS = 30
_SUBJECT_REF = re.compile(r"\[#(\d{1,18})\]")


def normalise_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return result.normalized.lower()


def normalise_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if not clean or len(clean) > 64:
            raise ValueError("each tag is 1 to 64 characters")
        seen.setdefault(clean, None)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return list(seen)


def transition_error(current: str, target: str) -> str | None:
    """Why `current -> target` is not allowed, or None when it is."""
    if current == target or target in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (closed is final)"
    return f"cannot move from {current} to {target}; allowed: {allowed}"


def status_after_customer_reply(current: str) -> str | None:
    """A customer writing back reopens a ticket that waited on them or was resolved."""
    return "open" if current in ("pending", "resolved") else None


def status_after_agent_reply(current: str) -> str | None:
    """The first public answer takes a new ticket into work."""
    return "open" if current == "new" else None


def deadlines(
    opened_at: datetime, first_response_s: int, resolution_s: int, paused: timedelta = timedelta(0)
) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for a ticket opened at `opened_at`."""
    return (
        opened_at + timedelta(seconds=first_response_s) + paused,
        opened_at + timedelta(seconds=resolution_s) + paused,
    )


def subject_ref(subject: str | None) -> int | None:
    """The ticket number in a subject like `Re: [#1042] Broken login`."""
    match = _SUBJECT_REF.search(subject or "")
    return int(match.group(1)) if match else None


def tagged_subject(ref: int, subject: str) -> str:
    clean = _SUBJECT_REF.sub("", subject).strip()
    clean = re.sub(r"^((re|fwd?|aw|sv)\s*:\s*)+", "", clean, flags=re.IGNORECASE).strip()
    return f"[#{ref}] {clean or 'Your request'}"


def preview(body: str, limit: int = 200) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def _tags(value: list[str] | None) -> list[str] | None:
    return normalise_tags(value) if value is not None else None


class TicketIn(StrictInput):
    """Opened by an agent (`api`) or by a web form on behalf of a customer (`web`)."""

    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=100_000)
    requester_email: str = Field(max_length=320)
    channel: OpenChannel = "api"
    priority: Priority = "normal"
    assignee: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    tags: list[str] = []

    @field_validator("requester_email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalise_email(v)

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        return single_line(v) or v

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, v: list[str] | None) -> list[str] | None:
        return _tags(v)


class TicketPatch(PatchInput):
    subject: str = omittable(min_length=1, max_length=500)

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        return single_line(v) or v

    status: Status = omittable()
    priority: Priority = omittable()
    assignee: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    tags: list[str] = omittable()

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, v: list[str] | None) -> list[str] | None:
        return _tags(v)


class MessageIn(StrictInput):
    body: str = Field(min_length=1, max_length=100_000)
    visibility: Visibility = "public"
    author_kind: AuthorKind = "agent"
    author: str | None = Field(default=None, max_length=320)


class MergeIn(StrictInput):
    merged_id: str = Field(min_length=1, max_length=64)


class SlaPolicyIn(StrictInput):
    first_response_seconds: int = Field(ge=1, le=365 * 86400)
    resolution_seconds: int = Field(ge=1, le=365 * 86400)


class RatingIn(StrictInput):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5000)
