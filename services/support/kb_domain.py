"""Knowledge base articles: input contracts. No I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.support.domain import normalise_tags

ArticleStatus = Literal["draft", "published"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ArticleIn(_Strict):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=200_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = []
    status: ArticleStatus = "draft"

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return normalise_tags(v)


class ArticlePatch(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, min_length=1, max_length=200_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = None
    status: ArticleStatus | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return normalise_tags(v) if v is not None else None
