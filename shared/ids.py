"""Time-ordered UUIDs (version 7, RFC 9562): ids sort by creation, so cursors are stable."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

_MASK_48 = (1 << 48) - 1
_MASK_62 = (1 << 62) - 1
_VERSION_AND_VARIANT = 0x7 << 76 | 0b10 << 62
_UNKNOWN = uuid.SafeUUID.unknown  # an enum member read through the class costs ~0.2 us
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_new = object.__new__
_set = object.__setattr__


def uuid7() -> uuid.UUID:
    """One id, built without `UUID.__init__`, whose argument checks were a third of the cost. A
    unit test holds the result to `uuid.UUID(str(id))`. A batch's ids: `uuid7s`."""
    return _made(_stamp(), int.from_bytes(os.urandom(10), "big"))


def uuid7s(count: int) -> list[uuid.UUID]:
    """`count` ids as `uuid7()` makes them, for a batch: one read of the clock and one of the
    random source for all of them (0.66 µs an id, against 1.3-1.9 for `uuid7()` alone: most of
    that is the `os.urandom` system call). Ids of one call share its millisecond, so they sort
    by creation only to the millisecond, as ids of separate calls within one millisecond do."""
    stamp, randomness = _stamp(), os.urandom(10 * count)
    return [
        _made(stamp, int.from_bytes(randomness[start : start + 10], "big"))
        for start in range(0, 10 * count, 10)
    ]


def _stamp() -> int:
    """The millisecond, with the version and variant bits."""
    return ((time.time_ns() // 1_000_000) & _MASK_48) << 80 | _VERSION_AND_VARIANT


def _made(stamp: int, rand: int) -> uuid.UUID:
    """The id of `stamp` and 80 random bits: 12 as rand_a, 62 as rand_b."""
    made = _new(uuid.UUID)
    _set(made, "int", stamp | ((rand >> 62) & 0xFFF) << 64 | rand & _MASK_62)
    _set(made, "is_safe", _UNKNOWN)
    return made


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """Below every uuid7 made at `moment`'s millisecond or after it, above every earlier one."""
    return uuid.UUID(int=((moment - _EPOCH) // _MILLISECOND & _MASK_48) << 80)


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
