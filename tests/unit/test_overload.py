"""The in-flight limit: refuses past the limit, frees its slot however the request ends."""

from __future__ import annotations

import pytest

from shared.errors import Problem
from shared.overload import InFlight


def test_requests_past_the_limit_are_refused_with_retry_after():
    limit = InFlight(2)
    with limit.slot(), limit.slot():
        with pytest.raises(Problem) as refused, limit.slot():
            pass
        assert refused.value.status == 503
        assert refused.value.headers == {"Retry-After": "1"}
        assert limit.count == 2  # the refused request took no slot
    assert limit.count == 0


def test_a_failed_request_frees_its_slot():
    limit = InFlight(1)
    with pytest.raises(ValueError), limit.slot():
        raise ValueError("the handler failed")
    with limit.slot():
        assert limit.count == 1
