"""Knowledge base articles: input contracts. No I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from services.support.domain import normalise_tags
from shared.inputs import PatchInput, StrictInput, omittable

ArticleStatus = Literal["draft", "published"]


class ArticleIn(StrictInput):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=200_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = []
    status: ArticleStatus = "draft"

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return normalise_tags(v)


class ArticlePatch(PatchInput):
    title: str = omittable(min_length=1, max_length=300)
    body: str = omittable(min_length=1, max_length=200_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = omittable()
    status: ArticleStatus = omittable()

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return normalise_tags(v)
