"""Pipelines, deals and activities: input contracts and the stage rules. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from shared.inputs import PatchInput, StrictInput, omittable

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
ActivityKind = Literal["note", "call", "meeting", "task"]


@dataclass(frozen=True)
class Stage:
    name: str
    position: int
    probability: float
    outcome: str | None  # "won", "lost" or None for an open stage


class StageIn(StrictInput):
    name: str = Field(min_length=1, max_length=63)
    probability: float = Field(ge=0, le=1)
    outcome: Literal["won", "lost"] | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        v = v.lower()
        if not SLUG.match(v):
            raise ValueError("lower-case letters, digits, '-' and '_'")
        return v


class PipelineIn(StrictInput):
    """Open stages in order; the closing stages `won` and `lost` are added when not given."""

    id: str | None = Field(default=None, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    stages: list[StageIn] = Field(min_length=1, max_length=30)

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str | None) -> str | None:
        if v is not None and not SLUG.match(v):
            raise ValueError("lower-case letters, digits, '-' and '_' (e.g. enterprise)")
        return v

    @field_validator("stages")
    @classmethod
    def _stages(cls, stages: list[StageIn]) -> list[StageIn]:
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        for outcome in ("won", "lost"):
            if sum(1 for s in stages if _outcome_of(s) == outcome) > 1:
                raise ValueError(f"only one stage can be the {outcome} outcome")
            if any(s.name == outcome and _outcome_of(s) != outcome for s in stages):
                raise ValueError(f"a stage named {outcome} must be the {outcome} outcome")
        if all(_outcome_of(s) for s in stages):
            raise ValueError("at least one open stage is needed")
        return stages

    def resolved_stages(self) -> list[Stage]:
        stages = [
            Stage(s.name, i, s.probability, _outcome_of(s)) for i, s in enumerate(self.stages)
        ]
        for outcome, probability in (("won", 1.0), ("lost", 0.0)):
            if not any(s.outcome == outcome for s in stages):
                stages.append(Stage(outcome, len(stages), probability, outcome))
        return stages


def _outcome_of(stage: StageIn) -> str | None:
    if stage.outcome:
        return stage.outcome
    return stage.name if stage.name in ("won", "lost") else None


def _currency(v: str | None) -> str | None:
    if v is None:
        return None
    v = v.upper()
    if not CURRENCY.match(v):
        raise ValueError("an ISO 4217 code such as EUR")
    return v


class _DealFields(StrictInput):
    amount: Decimal | None = Field(default=None, ge=0, le=Decimal("1e15"), decimal_places=2)
    currency: str | None = None
    account_id: str | None = None
    expected_close: date | None = None
    owner: str | None = Field(default=None, max_length=200)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        return _currency(v)


class DealIn(_DealFields):
    name: str = Field(min_length=1, max_length=300)
    customer_id: str
    amount: Decimal = Field(ge=0, le=Decimal("1e15"), decimal_places=2)
    currency: str
    pipeline_id: str = "default"


class DealPatch(PatchInput, _DealFields):
    name: str = omittable(min_length=1, max_length=300)
    amount: Decimal = omittable(ge=0, le=Decimal("1e15"), decimal_places=2)
    currency: str = omittable()
    stage: str = omittable(max_length=63)
    lost_reason: str | None = Field(default=None, min_length=1, max_length=500)


class ActivityIn(StrictInput):
    kind: ActivityKind
    subject: str = Field(min_length=1, max_length=300)
    body: str | None = Field(default=None, max_length=20000)
    due_at: datetime | None = Field(default=None, validate_default=True)

    @field_validator("due_at")
    @classmethod
    def _due_at(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is None and info.data.get("kind") == "task":
            raise ValueError("a task needs a due date")
        if v is not None and v.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2025-01-31T17:00:00Z)")
        return v


class ActivityPatch(StrictInput):
    done: bool


@dataclass(frozen=True)
class Transition:
    from_stage: str
    to_stage: str
    outcome: str | None  # the outcome of the stage entered


class StageError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def decide_transition(
    stages: list[Stage], current: str, target: str, lost_reason: str | None
) -> Transition | None:
    """None when the deal stays where it is; StageError for an unknown stage or a missing reason."""
    by_name = {s.name: s for s in stages}
    if target not in by_name:
        known = ", ".join(s.name for s in sorted(stages, key=lambda s: s.position))
        raise StageError("stage", f"unknown stage {target!r}; this pipeline has {known}")
    if target == current:
        return None
    outcome = by_name[target].outcome
    if outcome == "lost" and not lost_reason:
        raise StageError("lost_reason", "a lost deal needs a lost_reason")
    return Transition(current, target, outcome)


def first_stage(stages: list[Stage]) -> Stage:
    return min((s for s in stages if s.outcome is None), key=lambda s: s.position)
