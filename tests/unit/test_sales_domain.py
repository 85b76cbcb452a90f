"""Sales' pure rules: domains, scoring rules and decay, pipelines and stage transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.sales.domain.accounts import AccountIn, email_domain, normalise_domain
from services.sales.domain.deals import (
    ActivityIn,
    PipelineIn,
    Stage,
    StageError,
    decide_transition,
    first_stage,
)
from services.sales.domain.scoring import (
    Entry,
    Rule,
    RuleIn,
    Signal,
    normalise_path,
    rule_for,
    score_of,
    signal_from,
    worth,
)

NOW = datetime(2030, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "Example.com",
        "https://www.example.com/about?x=1",
        "www.example.com.",
        "  EXAMPLE.COM  ",
        "http://example.com:8080",
    ],
)
def test_domains_are_normalised(raw):
    assert normalise_domain(raw) == "example.com"


@pytest.mark.parametrize("raw", ["", "localhost", "not a domain", "exa_mple.com", "-x.com"])
def test_non_domains_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_domain(raw)


def test_public_mail_domains_say_nothing_about_the_company():
    assert email_domain("ada@Gmail.com") is None and email_domain("bob@proton.me") is None
    assert email_domain("ada@Sub.Acme.io") == "sub.acme.io"
    assert email_domain(None) is None and email_domain("broken") is None
    with pytest.raises(ValidationError):
        AccountIn(name="X", domain="outlook.com")


def test_the_one_matching_rule_prefers_exact_paths_then_the_longest_prefix():
    rules = [
        Rule("1", "page", "/docs/*", 1),
        Rule("2", "page", "/docs/api/*", 2),
        Rule("3", "page", "/docs/api/keys", 3),
        Rule("4", "track", "signed up", 4),
    ]

    def page(path: str) -> str | None:
        found = rule_for(rules, Signal("e", "c", "page", normalise_path(path), NOW))
        return found.id if found else None

    assert page("/docs/api/keys/") == "3" and page("/docs/api/x") == "2" and page("/docs") == "1"
    assert page("/pricing") is None
    assert rule_for(rules, Signal("e", "c", "track", "signed up", NOW)).id == "4"


def test_paths_lose_scheme_query_case_and_trailing_slash():
    assert normalise_path("https://shop.example/Pricing/?utm=1#top") == "/pricing"
    assert normalise_path("pricing") == "/pricing" and normalise_path("/blog/*") == "/blog/*"
    assert normalise_path("/") == "/"


def test_decay_is_linear_towards_zero_for_positive_and_negative_points():
    assert worth(Entry(10, 2, NOW - timedelta(days=2)), NOW) == 6
    assert worth(Entry(10, 2, NOW - timedelta(days=9)), NOW) == 0
    assert worth(Entry(-10, 4, NOW - timedelta(days=1)), NOW) == -6
    assert worth(Entry(10, 2, NOW + timedelta(days=3)), NOW) == 10  # future times do not grow
    assert worth(Entry(7, None, NOW - timedelta(days=900)), NOW) == 7
    assert score_of([Entry(10, 2, NOW - timedelta(days=2)), Entry(-3, None, NOW)], NOW) == 3


def test_signals_are_read_from_each_scored_event_and_anonymous_ones_skipped():
    at = NOW.isoformat()
    track = signal_from(
        "InteractionRecorded",
        "e1",
        {"customer_id": "c", "kind": "track", "name": " Pricing  Viewed", "occurred_at": at},
    )
    assert (track.kind, track.value, track.occurred_at) == ("track", "pricing viewed", NOW)
    page = signal_from(
        "InteractionRecorded",
        "e2",
        {"customer_id": "c", "kind": "page", "path": "/Plans/", "occurred_at": at},
    )
    assert (page.kind, page.value) == ("page", "/plans")
    assert (
        signal_from(
            "InteractionRecorded",
            "e3",
            {"customer_id": None, "kind": "track", "name": "X", "occurred_at": at},
        )
        is None
    )
    assert (
        signal_from(
            "InteractionRecorded", "e4", {"customer_id": "c", "kind": "identify", "occurred_at": at}
        )
        is None
    )
    assert (
        signal_from("OrderPlaced", "e5", {"customer_id": "c", "placed_at": at}).kind
        == "order_placed"
    )
    assert signal_from("TicketOpened", "e6", {"customer_id": None, "opened_at": at}) is None
    assert (
        signal_from("LinkClicked", "e7", {"customer_id": "c", "at": at, "url": "u"}).kind
        == "email_clicked"
    )


def test_a_rule_has_exactly_one_trigger():
    assert RuleIn(event="Pricing Viewed", points=40).trigger() == ("track", "pricing viewed")
    assert RuleIn(page="/pricing", points=10).trigger() == ("page", "/pricing")
    assert RuleIn(email="clicked", points=5).trigger() == ("email_clicked", "")
    assert RuleIn(ticket="opened", points=-10, decay_per_day=1).trigger() == ("ticket_opened", "")
    for bad in ({"points": 1}, {"event": "a", "order": "placed", "points": 1}):
        with pytest.raises(ValueError):
            RuleIn(**bad).trigger()


DEFAULT = [
    Stage("qualification", 0, 0.1, None),
    Stage("proposal", 1, 0.3, None),
    Stage("won", 2, 1.0, "won"),
    Stage("lost", 3, 0.0, "lost"),
]


def test_stage_transitions():
    assert first_stage(DEFAULT).name == "qualification"
    assert decide_transition(DEFAULT, "qualification", "qualification", None) is None
    assert decide_transition(DEFAULT, "qualification", "won", None).outcome == "won"
    assert decide_transition(DEFAULT, "won", "proposal", None).outcome is None  # reopened
    assert decide_transition(DEFAULT, "proposal", "lost", "price").outcome == "lost"
    with pytest.raises(StageError) as unknown:
        decide_transition(DEFAULT, "proposal", "closed", None)
    assert unknown.value.field == "stage"
    with pytest.raises(StageError) as no_reason:
        decide_transition(DEFAULT, "proposal", "lost", None)
    assert no_reason.value.field == "lost_reason"


def test_pipelines_get_closing_stages_when_not_given():
    stages = PipelineIn(name="P", stages=[{"name": "Demo", "probability": 0.2}]).resolved_stages()
    assert [(s.name, s.outcome, s.probability) for s in stages] == [
        ("demo", None, 0.2),
        ("won", "won", 1.0),
        ("lost", "lost", 0.0),
    ]
    custom = PipelineIn(
        name="P",
        stages=[
            {"name": "a", "probability": 0.5},
            {"name": "signed", "probability": 1, "outcome": "won"},
        ],
    )
    assert [s.name for s in custom.resolved_stages()] == ["a", "signed", "lost"]
    with pytest.raises(ValidationError):
        PipelineIn(
            name="P",
            stages=[
                {"name": "won", "probability": 1, "outcome": "lost"},
                {"name": "a", "probability": 0.1},
            ],
        )


def test_a_task_needs_a_due_date_with_a_time_zone():
    assert ActivityIn(kind="note", subject="x").due_at is None
    with pytest.raises(ValidationError):
        ActivityIn(kind="task", subject="x")
    with pytest.raises(ValidationError):
        ActivityIn(kind="task", subject="x", due_at="2030-01-01T10:00:00")
