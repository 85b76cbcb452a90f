"""The ids a relay's floor rises over unpublished are looked up again on a schedule, and the
relay holds a bounded number of ids to find them (shared.relay_gaps)."""

from __future__ import annotations

from shared import relay_gaps
from shared.relay_gaps import PassedIds


def test_ids_the_floor_passed_unpublished_come_due_at_each_recheck_then_never_again():
    passed = PassedIds((5.0, 60.0, 600.0))
    passed.published([1, 2, 4, 5, 7])
    passed.floor_rose(0, 6, now=100.0)
    assert passed.due(104.9) == []
    assert passed.due(105.0) == [3, 6]
    assert passed.due(159.9) == []
    assert passed.due(160.0) == [3, 6]
    assert passed.due(700.0) == [3, 6]
    assert passed.due(10_000.0) == []


def test_ids_published_above_the_floor_count_at_a_later_rise():
    passed = PassedIds((1.0,))
    passed.published([1, 2, 3, 4])
    passed.floor_rose(0, 2, now=0.0)
    assert passed.due(1.0) == []
    passed.published([6])
    passed.floor_rose(2, 6, now=0.0)
    assert passed.due(1.0) == [5]


def test_rises_come_due_in_the_order_of_their_time():
    passed = PassedIds((5.0, 60.0))
    passed.floor_rose(0, 1, now=0.0)
    passed.floor_rose(1, 2, now=10.0)
    assert [passed.due(t) for t in (5.0, 15.0, 60.0, 70.0, 1_000.0)] == [[1], [2], [1], [2], []]


def test_a_late_look_returns_each_id_once_and_keeps_its_next_look():
    passed = PassedIds((5.0, 60.0))
    passed.floor_rose(0, 1, now=0.0)
    assert passed.due(100.0) == [1]  # both looks were due: the database was away
    assert passed.due(100.0) == [1]
    assert passed.due(1_000.0) == []


def test_a_floor_that_does_not_rise_bounds_the_ids_held(monkeypatch):
    monkeypatch.setattr(relay_gaps, "LIMIT", 10)
    passed = PassedIds((1.0,))
    passed.published(range(1, 12))  # past the limit: those ids go unchecked
    passed.published([13])
    passed.floor_rose(0, 13, now=0.0)
    assert passed.due(1.0) == [12]


def test_a_rise_over_more_ids_than_the_limit_is_not_checked(monkeypatch):
    monkeypatch.setattr(relay_gaps, "LIMIT", 10)
    passed = PassedIds((1.0,))
    passed.floor_rose(0, 11, now=0.0)  # a session's first rise over an outbox it never read
    passed.floor_rose(11, 13, now=0.0)
    assert passed.due(1.0) == [12, 13]
