"""The relay's read floor rises only as far as a ripe mark proves (shared.relay_floor)."""

from __future__ import annotations

from shared.relay_floor import ReadFloor


def marked(last_id: int = 500, xid: int = 90) -> ReadFloor:
    floor = ReadFloor()
    floor.note_mark(last_id, xid)
    return floor


def test_a_mark_not_yet_ripe_keeps_the_floor():
    floor = marked()
    assert floor.covered(700, False, 89) == 0
    floor.raise_to(floor.covered(700, False, 89))
    assert floor.start() == 0 and not floor.needs_mark()


def test_a_ripe_mark_raises_the_floor_to_its_last_id_and_is_used_up():
    floor = marked()
    floor.raise_to(floor.covered(700, False, 90))
    assert floor.start() == 500 and floor.needs_mark()


def test_a_full_batch_raises_the_floor_only_to_its_last_row_and_keeps_the_mark():
    floor = marked()
    floor.raise_to(floor.covered(300, True, 95))
    assert floor.start() == 300 and not floor.needs_mark()
    floor.raise_to(floor.covered(600, True, 95))
    assert floor.start() == 500 and floor.needs_mark()


def test_a_lowered_floor_applies_from_the_next_round_not_the_current_one():
    floor = marked()
    floor.lower_to(120)  # notified while the round's read was on its way
    floor.lower_to(300)  # the lowest notice counts
    floor.raise_to(floor.covered(700, False, 90))
    assert floor.id == 500
    assert floor.start() == 120
    floor.raise_to(floor.covered(700, False, 90))
    assert floor.start() == 120  # the mark was used up: it waits for the next one


def test_a_new_session_starts_from_the_stored_floor_unless_disabled():
    assert ReadFloor(400).start() == 400
    assert ReadFloor(400, enabled=False).start() == 0


def test_a_disabled_floor_never_asks_for_a_mark():
    floor = ReadFloor(enabled=False)
    assert not floor.needs_mark()
    floor.raise_to(floor.covered(700, False, 10**9))
    assert floor.start() == 0
