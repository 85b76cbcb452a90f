"""Partial updates: which fields a null may clear, and what the document offers."""

from __future__ import annotations

from typing import Any, Literal, Optional

import pytest
from pydantic import Field, ValidationError

from shared.inputs import PatchInput, admits_null, omittable


class _Patch(PatchInput):
    name: str = omittable(min_length=1)
    tags: list[str] = omittable()
    note: str | None = Field(default=None, max_length=10)


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, False),
        (list[str], False),
        (Literal["a", "b"], False),
        (str | None, True),
        (Optional[int], True),  # noqa: UP045 - the spelling under test
        (Any, True),
    ],
)
def test_admits_null(annotation, expected):
    assert admits_null(annotation) is expected


def test_left_out_is_no_change_and_null_clears_only_a_nullable_field():
    assert _Patch().changes() == {}
    assert _Patch(note=None).changes() == {"note": None}
    assert _Patch(name="x", tags=[]).changes() == {"name": "x", "tags": []}
    with pytest.raises(ValidationError) as caught:
        _Patch(name=None, tags=None)
    assert [e["loc"] for e in caught.value.errors()] == [("name",), ("tags",)]


def test_the_document_offers_null_only_where_it_is_accepted():
    props = _Patch.model_json_schema()["properties"]
    assert "default" not in props["name"] and props["name"]["type"] == "string"
    assert "default" not in props["tags"] and props["tags"]["type"] == "array"
    assert props["note"]["default"] is None
    assert {"type": "null"} in props["note"]["anyOf"]
