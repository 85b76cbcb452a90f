"""Pure rules of orders: totals add up, the fingerprint ignores form, not content."""

from __future__ import annotations

import pytest

from services.interactions.orders_domain import OrderIn, OrderRuleError, check_rules, fingerprint

BASE = {
    "order_id": "o1",
    "store_id": "s1",
    "channel": "store",
    "currency": "eur",
    "email": "A@Example.com",
    "placed_at": "2025-01-01T10:00:00+01:00",
    "lines": [{"sku": "x", "quantity": 2, "unit_price": "2.50"}],
    "total": 5,
}


def test_totals_must_add_up():
    check_rules(OrderIn(**BASE))
    check_rules(OrderIn(**BASE | {"subtotal": 5, "tax": 1, "discount": 2, "total": 4}))
    with pytest.raises(OrderRuleError) as caught:
        check_rules(OrderIn(**BASE | {"total": 6}))
    assert caught.value.field == "total"
    with pytest.raises(OrderRuleError) as caught:
        check_rules(OrderIn(**BASE | {"subtotal": 4, "total": 4}))
    assert caught.value.field == "subtotal"


def test_a_customer_must_be_named():
    with pytest.raises(OrderRuleError) as caught:
        check_rules(OrderIn(**BASE | {"email": None}))
    assert caught.value.field == "customer_id"


def test_fingerprint_is_stable_across_form_and_changes_with_content():
    same = OrderIn(
        **BASE
        | {
            "currency": "EUR",
            "email": "a@example.com",
            "total": "5.00",
            "placed_at": "2025-01-01T09:00:00Z",
        }
    )
    assert fingerprint(OrderIn(**BASE)) == fingerprint(same)
    assert fingerprint(OrderIn(**BASE)) != fingerprint(OrderIn(**BASE | {"store_id": "s2"}))
