"""Where the relay's read of unpublished outbox rows may start: above every row it has published
and below every row that can still appear.

The relay's update of `published_at` is never a HOT update (the column is in the predicate of
the partial index `outbox_unpublished`), so each published row leaves a dead entry at the left
of that index until a vacuum. A read that starts at the index's left edge walks all of them:
0.4 ms with none, 9 ms at 100,000, 232 ms at 500,000 (bench/RESULTS.md). Starting above the
published rows skips them, but a transaction that took a low id can commit after one that took
a higher id, so "the highest id published" is not a safe start. The floor only rises to an id
once PostgreSQL proves that no row at or below it can still commit:

1. A mark, taken after a round that published rows: in one statement, the last id the
   sequence handed out, `last_id` (asked under the sequence's lock: a scan of it can read an
   id not handed out yet), then a new transaction id `xid` (the CASE orders the two). An
   outbox id is taken only by a transaction that already has its xid (migration 0007), so
   every transaction holding an id ≤ `last_id` has an xid below `xid`.
2. A later read whose snapshot's xmin is ≥ `xid` sees every such transaction as ended: each
   row with an id ≤ `last_id` is either visible to it or will never exist.
3. So once that read's rows are marked published, the floor may rise to `last_id` (or to the
   last id read, when the read stopped at its limit below `last_id`).

The floor is kept in `outbox_floor`, written in the transaction that marks the rows published:
a new relay session starts from it, and backlog counts (`shared.outbox.backlog`) count above it.
A replay (`mark_for_replay`) lowers it to just below the first row it queued and bumps
`replays`; the relay writes its floor only while `replays` is what its read saw, so a read from
before a replay cannot raise it again, and the replay's NOTIFY carries the lowered floor to the
relay's session. A row set unpublished by hand does the same through a trigger (migration
0009).

xmin is cluster-wide: a long transaction anywhere on the server (another service's, an open
psql session) keeps the marks from ripening, and the reads then start where they did, as slow
as before but complete. The ids the floor rises over without the relay having published them
are looked up again for a while (shared.relay_gaps): should the proof ever fail, the row is
published all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

# The last id the outbox sequence handed out (0 when it has handed out none), asked of the
# sequence under its buffer lock. Not `SELECT last_value FROM outbox_id_seq`: a scan reads the
# tuple after letting go of that lock, and nextval() rewrites it in place, for an instant to
# the value it logs 32 ids ahead. A scan that reads in that instant names ids nobody has yet,
# and a floor raised to one of them passes the rows the next writer takes (README, "The
# relay's read floor"; a plain read ran ahead in 7 of 19,638 reads, slowed by 0.2 ms, under six
# writers; this one in none of 18,461).
_LAST_HANDED_OUT = "SELECT coalesce(pg_sequence_last_value('outbox_id_seq'), 0)"

# The CASE reads the sequence before it asks for a transaction id: the order the proof needs.
MARK = f"""
SELECT v AS last_id, CASE WHEN v IS NOT NULL THEN pg_current_xact_id()::text::bigint END AS xid
FROM ({_LAST_HANDED_OUT}) AS seq(v)
"""

# A sequence that hands out cached ranges (or wraps around) gives ids out of order in time.
_PLAIN_SEQUENCE = """
SELECT seqcache = 1 AND NOT seqcycle FROM pg_sequence WHERE seqrelid = 'outbox_id_seq'::regclass
"""

# Read in the relay's read, from its snapshot.
SNAPSHOT_XMIN = "(SELECT pg_snapshot_xmin(pg_current_snapshot()))::text::bigint"
REPLAYS = "(SELECT replays FROM outbox_floor)"

# A sequence reset below the stored floor (TRUNCATE ... RESTART IDENTITY) resets the floor.
_RESET_ABOVE_SEQUENCE = f"UPDATE outbox_floor SET id = 0 WHERE id > ({_LAST_HANDED_OUT})"

# In the transaction that marks the rows published ($1: their ids): the new floor ($2), unless a
# replay came after the read ($3: the replays the read saw).
MARK_PUBLISHED = """
WITH floor AS (UPDATE outbox_floor SET id = $2 WHERE replays = $3 AND id < $2)
UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])
"""


@dataclass(frozen=True)
class Mark:
    last_id: int  # the outbox sequence's last value
    xid: int  # a transaction id assigned after that value was read


class ReadFloor:
    """The id above which the relay reads (`id`), and the mark it waits on to raise it."""

    def __init__(self, start_id: int = 0, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.id = start_id if enabled else 0
        self.mark: Mark | None = None
        self._lower_to: int | None = None

    def lower_to(self, floor: int) -> None:
        """Read from just above `floor` from the next round on: rows above it were queued for
        publishing again. Not at once: the round under way may still raise the floor, from a
        read that came before those rows."""
        self._lower_to = floor if self._lower_to is None else min(self._lower_to, floor)

    def start(self) -> int:
        """The id the next read starts above."""
        if self._lower_to is not None:
            self.id, self._lower_to = min(self.id, self._lower_to), None
        return self.id

    def needs_mark(self) -> bool:
        return self.enabled and self.mark is None

    def note_mark(self, last_id: int | None, xid: int | None) -> None:
        if last_id is not None and xid is not None:
            self.mark = Mark(last_id, xid)

    def covered(self, last_id_read: int, batch_full: bool, snapshot_xmin: int) -> int:
        """How far the floor may rise once a read's rows (ids up to `last_id_read`, from a
        snapshot with `snapshot_xmin`) are marked published: as far as the mark proves."""
        mark = self.mark
        if mark is None or snapshot_xmin < mark.xid:
            return self.id  # a transaction that may hold a lower id was still running
        return max(self.id, min(mark.last_id, last_id_read) if batch_full else mark.last_id)

    def raise_to(self, covered: int) -> None:
        """The read's rows are marked published (and `covered` stored with them)."""
        self.id = max(self.id, covered)
        if self.mark is not None and covered >= self.mark.last_id:
            self.mark = None  # used up: the next round takes a new one


async def stored(conn: asyncpg.Connection) -> ReadFloor:
    """The floor a new relay session starts from. Disabled when the outbox's ids are not handed
    out one at a time, in order (the proof's premise)."""
    if not await conn.fetchval(_PLAIN_SEQUENCE):
        return ReadFloor(enabled=False)
    await conn.execute(_RESET_ABOVE_SEQUENCE)
    return ReadFloor(await conn.fetchval("SELECT id FROM outbox_floor"))
