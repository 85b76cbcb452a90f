"""The base of every request body, and of partial updates (PATCH).

A PATCH body names only what changes. A field left out keeps its value; `null` clears a field
typed `X | None`. A field that can never be empty (a name, a status, a list of tags) is typed
without None and declared with `omittable()`: left out, it reads None and is not among
`changes()`; sent as `null`, it is refused with a 422 naming it, instead of reaching a NOT NULL
column (a 500) or being silently ignored.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class StrictInput(BaseModel):
    """Unknown fields are refused (a typo is a 422, not a silent no-op); text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def omittable(**constraints: Any) -> Any:
    """A PatchInput field that may be left out but never cleared: `name: str = omittable()`."""
    return Field(default=None, **constraints)


def admits_null(annotation: Any) -> bool:
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(admits_null(arg) for arg in typing.get_args(annotation))
    return False


def _nullable(prop: dict[str, Any]) -> bool:
    options = prop.get("anyOf", [prop])
    return any(option.get("type") == "null" for option in options) or not prop


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # An omittable field's None default only stands for "left out": not a value to offer clients.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _nullable(prop):
            del prop["default"]


class PatchInput(StrictInput):
    model_config = ConfigDict(json_schema_extra=_no_null_defaults)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name or ""]
        if value is None and not admits_null(field.annotation):
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the request named, with their new values."""
        return self.model_dump(exclude_unset=True)
