"""Campaigns' pure logic: the rule language, templates, signed tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.campaigns import templates, tokens
from services.campaigns.rules.evaluate import Profile, matches
from services.campaigns.rules.parse import (
    RuleError,
    event_depths,
    find_cycle,
    inline,
    is_time_based,
    merged_depths,
    validate,
)

NOW = datetime(2030, 1, 10, tzinfo=UTC)


def test_validation_names_the_bad_node():
    with pytest.raises(RuleError) as err:
        validate({"all": [{"tag": "a"}, {"any": [{"attribute": "x", "op": "gt", "value": True}]}]})
    assert err.value.path == "rule.all[1].any[0].value"


def test_references_are_returned_and_cycles_found():
    assert validate({"not": {"segment": "b"}}) == {"b"}
    rules = {"a": {"segment": "b"}, "b": {"tag": "x"}}
    assert find_cycle("b", {"any": [{"segment": "a"}]}, rules) == ["b", "a", "b"]
    assert find_cycle("b", {"tag": "y"}, rules) is None
    assert inline({"segment": "a"}, rules) == {"tag": "x"}


def test_evaluator_semantics():
    profile = Profile(
        customer_id="c",
        tags=["vip"],
        attributes={"plan": "pro", "seats": 5, "langs": ["fr"]},
        consent={"email": "subscribed"},
        orders_count=2,
        total_spent=Decimal("100.00"),
        events=[("Order Placed", NOW - timedelta(days=3)), ("Order Placed", NOW - timedelta(40))],
    )
    assert matches({"all": [{"tag": "vip"}, {"consent": "email"}]}, profile, NOW)
    assert matches({"attribute": "seats", "op": "gte", "value": 5.0}, profile, NOW)
    assert not matches({"attribute": "seats", "op": "eq", "value": True}, profile, NOW)
    assert matches({"attribute": "langs", "op": "contains", "value": "fr"}, profile, NOW)
    assert matches({"attribute": "missing", "op": "ne", "value": "x"}, profile, NOW)
    assert matches({"attribute": "plan", "op": "in", "value": ["team", "pro"]}, profile, NOW)
    assert matches({"metric": "total_spent", "op": "gte", "value": 100}, profile, NOW)
    assert matches({"event": "Order Placed", "within_days": 30}, profile, NOW)
    assert not matches({"event": "Order Placed", "within_days": 30, "min_count": 2}, profile, NOW)
    assert matches({"event": "Order Placed", "min_count": 2}, profile, NOW)
    assert is_time_based({"not": {"event": "x", "within_days": 1}})
    assert not is_time_based({"event": "x"})


def test_template_sandbox_refuses_escapes_and_bad_syntax():
    for source in (
        "{{ ''.__class__.__mro__ }}",
        "{{ x['__globals__'] }}",
        "{{ range.__init__ }}",
        "{% for %}",
    ):
        with pytest.raises(templates.TemplateProblem):
            templates.check(source, is_html=True)
    templates.check("<p>{{ first_name | title }} {{ attributes.plan }}</p>", is_html=True)
    assert templates.render("{{ x }}", {"x": "<b>"}, is_html=True) == "&lt;b&gt;"


def test_links_are_rewritten_except_own_and_non_http():
    body = '<a href="https://a.example/?q=1&amp;r=2">x</a><a href="mailto:m@x">m</a>'
    out = templates.rewrite_links(body, lambda u: f"https://t/c?{u}", lambda u: False)
    assert 'href="https://t/c?https://a.example/?q=1&amp;r=2"' in out
    assert 'href="mailto:m@x"' in out


def test_tokens_are_bound_to_their_purpose_and_content():
    token = tokens.sign("k", "c", {"m": "1", "u": "https://x"})
    assert tokens.verify("k", "c", token) == {"m": "1", "u": "https://x"}
    for key, purpose, bad in (
        ("k", "o", token),
        ("other", "c", token),
        ("k", "c", "A" + token[1:]),
        ("k", "c", "nodot"),
    ):
        with pytest.raises(tokens.BadToken):
            tokens.verify(key, purpose, bad)


def test_event_depths_are_the_largest_min_count_asked_of_each_name():
    rule = {
        "all": [
            {"event": "Viewed Cart", "within_days": 7, "min_count": 3},
            {"any": [{"event": "Viewed Cart"}, {"not": {"event": "Order Placed", "min_count": 2}}]},
        ]
    }
    assert event_depths(rule) == {"Viewed Cart": 3, "Order Placed": 2}
    assert event_depths({"tag": "vip"}) == {}
    merged = merged_depths([{"a": 2, "b": 1}, {"b": 5}, {}])
    assert merged == {"a": 2, "b": 5}
