"""Store-channel orders: the input contract and its pure rules (totals, fingerprint)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

CENT = Decimal("0.01")
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise ValueError("not an email address")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (e.g. 2025-01-31T10:00:00Z)")
    return value


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=300)
    quantity: int = Field(gt=0, le=100_000)
    unit_price: Money


class OrderIn(BaseModel):
    """An order as a point of sale or web shop posts it; `subtotal`, `tax`, `shipping`,
    `discount` are optional but, when given, must add up."""

    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=100)
    store_id: str = Field(min_length=1, max_length=100)
    channel: Literal["store", "online"]
    customer_id: str | None = None
    email: Annotated[str | None, AfterValidator(_email)] = None
    loyalty_id: str | None = Field(default=None, min_length=1, max_length=100)
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    lines: list[LineIn] = Field(min_length=1, max_length=1000)
    subtotal: Money | None = None
    tax: Money | None = None
    shipping: Money | None = None
    discount: Money | None = None
    total: Money
    placed_at: Annotated[datetime, AfterValidator(_aware)]

    @model_validator(mode="after")
    def _rules(self) -> OrderIn:
        self.currency = self.currency.upper()
        return self


class OrderRuleError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_rules(order: OrderIn) -> None:
    """A customer is named; subtotal = sum of quantity * unit_price;
    total = subtotal - discount + tax + shipping."""
    if not (order.customer_id or order.email or order.loyalty_id):
        raise OrderRuleError("customer_id", "customer_id, email or loyalty_id is required")
    lines_sum = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    subtotal = order.subtotal if order.subtotal is not None else lines_sum
    if order.subtotal is not None and subtotal.quantize(CENT) != lines_sum.quantize(CENT):
        raise OrderRuleError("subtotal", f"is not the sum of the lines ({lines_sum:.2f})")
    expected = subtotal - (order.discount or 0) + (order.tax or 0) + (order.shipping or 0)
    if order.total.quantize(CENT) != expected.quantize(CENT):
        raise OrderRuleError("total", f"does not add up (expected {expected:.2f})")


def fingerprint(order: OrderIn) -> str:
    """Stable over the normalised content: the same order sent again has the same print."""
    doc = order.model_dump(mode="json")
    doc["placed_at"] = order.placed_at.timestamp()
    for key in ("subtotal", "tax", "shipping", "discount", "total"):
        doc[key] = None if doc[key] is None else f"{Decimal(doc[key]):.2f}"
    for line in doc["lines"]:
        line["unit_price"] = f"{Decimal(line['unit_price']):.2f}"
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
