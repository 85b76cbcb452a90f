"""The ids the relay's floor rose over without the relay having published them, looked up again
a few times over the next minutes: a check that the floor's proof held.

The floor (shared.relay_floor) rises over an id only once PostgreSQL proves that no row with it
can still commit, so an id the relay did not publish is one that will never be a row (its
transaction rolled back; PostgreSQL skips a few after a crash). Should such a row turn up
unpublished all the same (it did, once, while the mark read the sequence ahead of the ids it had
handed out), the relay lowers its floor below it and publishes it, and logs that the proof
failed. The ids are looked up by their primary key: no walk through the dead index entries
that published rows leave, which is what the floor spares the relay's reads.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

RECHECK_AFTER_S = (5.0, 60.0, 600.0)
# Ids held at most, published or passed: past it (the floor held back by a long transaction
# somewhere on the server, or a session's first rise over an outbox it never read) the ids up to
# those seen go unchecked.
LIMIT = 100_000

# The first of the ids ($1) that is an unpublished row at or below the stored floor, if any.
# Rows queued again (a replay, or by hand) are above it: their floor went below them at once.
FIRST_UNPUBLISHED = """
SELECT min(id) FROM outbox
WHERE id = ANY($1::bigint[]) AND published_at IS NULL AND id <= (SELECT id FROM outbox_floor)
"""
# The stored floor below an unpublished row ($1), counted as a replay (shared.relay_floor).
LOWER_BELOW = """
UPDATE outbox_floor SET id = least(id, $1 - 1), replays = replays + 1 RETURNING id
"""


class PassedIds:
    """The ids a relay session published above its floor, and the ids the floor passed without
    them, each due to be looked up at `RECHECK_AFTER_S` after the rise."""

    def __init__(self, recheck_after_s: tuple[float, ...] = RECHECK_AFTER_S) -> None:
        self.recheck_after_s = recheck_after_s
        self._published: set[int] = set()
        self._unchecked_to = 0
        self._due: list[tuple[float, int, float, list[int]]] = []  # (when, look, rise, ids)

    def published(self, ids: Iterable[int]) -> None:
        self._published.update(ids)
        if len(self._published) > LIMIT:
            self._unchecked_to = max(self._published)
            self._published.clear()

    def floor_rose(self, old: int, new: int, now: float) -> None:
        if new <= old:  # most rounds: the mark has not ripened, nothing passed, nothing to prune
            return
        start = max(old, self._unchecked_to)
        if start < new <= start + LIMIT:
            passed = [i for i in range(start + 1, new + 1) if i not in self._published]
            if passed:
                heapq.heappush(self._due, (now + self.recheck_after_s[0], 0, now, passed))
        self._published = {i for i in self._published if i > new}

    def due(self, now: float) -> list[int]:
        """The ids to look up now; each comes back at its next look after its rise, if any."""
        ids: list[int] = []
        later = []
        while self._due and self._due[0][0] <= now:
            _, look, rose_at, passed = heapq.heappop(self._due)
            ids += passed
            if look + 1 < len(self.recheck_after_s):
                later.append((rose_at + self.recheck_after_s[look + 1], look + 1, rose_at, passed))
        for entry in later:
            heapq.heappush(self._due, entry)
        return ids
