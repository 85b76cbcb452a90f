"""Text rules every service's inputs share."""

from __future__ import annotations


def single_line(value: str | None) -> str | None:
    """Refuse CR and LF: values like names and subjects end up in mail headers, where a line
    break would inject headers of the sender's choosing."""
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError("must be a single line (no CR or LF)")
    return value
