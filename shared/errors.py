"""RFC 9457 problem details, raised anywhere and rendered by shared.http."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        if self.errors:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def not_found(what: str, ident: object) -> Problem:
    return Problem(404, "Not found", f"{what} {ident} does not exist")


def conflict(detail: str, **extra: Any) -> Problem:
    return Problem(409, "Conflict", detail, **extra)


def malformed_json(message: str = "invalid JSON") -> Problem:
    return Problem(
        400,
        "Malformed JSON",
        "the request body is not valid JSON",
        errors=[{"field": "body", "message": message}],
    )


def invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        "Invalid request",
        f"{field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def require_version(what: str, current: int, expected: int | None) -> None:
    """Optimistic concurrency: an `If-Match` naming another version than the stored one is 412."""
    if expected is not None and expected != current:
        raise Problem(
            412, "Precondition failed", f"the {what} is at version {current}",
            current_version=current,
        )  # fmt: skip
