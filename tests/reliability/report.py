"""The JSON object a run prints last."""

from __future__ import annotations

from typing import Any

from tests.reliability.context import RunContext
from tests.reliability.faults import describe
from tests.reliability.runner import Outcome


def build(ctx: RunContext, outcome: Outcome, duration_s: float) -> dict[str, Any]:
    ledger = ctx.ledger
    violations = [v for check in outcome.checks for v in check.violations()]
    violations += [
        f"faults: {f.kind} {f.target} not injected: {f.error}" for f in outcome.faults if f.error
    ]
    if ledger.gave_up:
        violations.append(f"requests never accepted within the retry limit: {dict(ledger.gave_up)}")
    quiet = outcome.quiet
    if quiet is not None and not quiet.reached:
        violations.append(f"no quiet after {quiet.waited_s}s: {quiet.last}")
    accepted = ledger.accepted_counts()
    return {
        "seed": ctx.seed,
        "faults_injected": sum(1 for f in outcome.faults if f.injected_at_s and not f.error),
        "accepted": sum(accepted.values()),
        "lost": sum(len(c.lost) for c in outcome.checks),
        "duplicated": sum(len(c.duplicated) for c in outcome.checks),
        "dlq": sum(outcome.dlq_per_topic.values()),
        "duration_s": duration_s,
        "violations": violations,
        "accepted_by_channel": accepted,
        "services": ctx.services,
        "load_s": outcome.load_s,
        "settle_s": quiet.waited_s if quiet else None,
        "replayed": quiet.replayed if quiet else {},
        "dlq_topics": outcome.dlq_per_topic,
        "poison_sent": len(ledger.poison_keys),
        "retries": dict(ledger.retries),
        "gave_up": dict(ledger.gave_up),
        "answers": dict(sorted(ledger.answers.items())),
        "invariants": {c.name: c.summary() for c in outcome.checks},
        "faults": describe(outcome.faults),
    }
