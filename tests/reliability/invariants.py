"""Every invariant that applies to the services this build runs, read after the quiet."""

from __future__ import annotations

from tests.reliability.checks import Check
from tests.reliability.contacts_view import read_contacts
from tests.reliability.context import RunContext
from tests.reliability.invariants_core import (
    customer_checks,
    mail_checks,
    order_checks,
    tracking_checks,
)
from tests.reliability.invariants_delivery import (
    dlq_checks,
    mail_sink_checks,
    outbox_checks,
)
from tests.reliability.invariants_projections import (
    analytics_checks,
    campaign_checks,
    metrics_checks,
    sales_checks,
)


async def check_all(ctx: RunContext) -> tuple[list[Check], dict[str, int]]:
    settings, ledger, has = ctx.stack.settings, ctx.ledger, ctx.has
    checks: list[Check] = []
    if has("contacts"):
        who = await read_contacts(settings)
        checks += await customer_checks(settings, ledger, who)
        if has("interactions"):
            checks += await tracking_checks(settings, ledger, who)
            checks += await order_checks(settings, ledger, who, ctx.tag)
    if has("interactions"):
        checks += await metrics_checks(settings)
    if has("support"):
        checks += await mail_checks(settings, ledger)
    if has("campaigns"):
        checks += await campaign_checks(settings, ledger)
    checks += await mail_sink_checks(settings, ledger, campaigns=has("campaigns"))
    if has("sales"):
        checks += await sales_checks(settings)
    if has("analytics"):
        checks += await analytics_checks(settings, ledger, ctx.services, ctx.tag)
    checks += await outbox_checks(settings, ctx.services)
    dlq, per_topic = await dlq_checks(settings, ledger)
    return checks + dlq, per_topic
