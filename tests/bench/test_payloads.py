"""The load's calls: anonymous page and track calls, and, when asked, a share of sign-ins."""

from __future__ import annotations

import random

from bench.payloads import batch


def test_without_sign_ins_every_call_is_a_visitor_s_and_the_load_is_as_before():
    calls = batch(200, random.Random(3))["batch"]
    assert {c["type"] for c in calls} == {"page", "track"}
    assert not any("userId" in c for c in calls)
    again = batch(200, random.Random(3))["batch"]  # the same seed, the same visitors and events
    assert [(c["anonymousId"], c["type"]) for c in calls] == [
        (c["anonymousId"], c["type"]) for c in again
    ]


def test_a_share_of_calls_signs_a_visitor_in_as_a_new_user():
    calls = batch(2000, random.Random(5), sign_ins=0.05)["batch"]
    sign_ins = [c for c in calls if c["type"] == "identify"]
    assert 60 <= len(sign_ins) <= 140
    assert all(c["anonymousId"].startswith("anon-") for c in sign_ins)
    assert len({c["userId"] for c in sign_ins}) == len(sign_ins)  # each a new user
    assert all(c["traits"]["email"].endswith("@example.org") for c in sign_ins)
