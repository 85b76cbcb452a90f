"""`make chaos`: a fresh embedded stack, steady load on every channel, seeded faults, then the
invariants. Prints one JSON object last; exits 1 on any violation.

    python -m tests.reliability.chaos --seed 7 --faults 30 [--duration 120] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import time
import traceback
from typing import Any

from bench.gateway_log import proxy_errors
from ecrm.embedded import gateway
from ecrm.embedded.stack import EmbeddedStack
from tests.reliability import report, runner, server_errors, stackctl
from tests.reliability.context import RunContext


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="fault-injection run against the embedded stack")
    parser.add_argument("--seed", type=int, default=1, help="seeds the fault schedule and load")
    parser.add_argument("--faults", type=int, default=30, help="faults to inject (default 30)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of load (default: 4 per fault, at least 40)",
    )
    parser.add_argument(
        "--settle", type=float, default=180.0, help="seconds allowed to reach quiet after the load"
    )
    parser.add_argument("--keep", action="store_true", help="keep ECRM_HOME even when all held")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


async def _run(stack: EmbeddedStack, args: argparse.Namespace, started: float) -> dict[str, Any]:
    duration = args.duration if args.duration is not None else max(40.0, 4.0 * args.faults)
    async with runner.new_client() as client:
        services = await stackctl.answering(stack, client)
        ctx = RunContext(stack, args.seed, random.Random(args.seed + 1), client, services, duration)
        log(f"services answering: {', '.join(services)}; {args.faults} faults over {duration}s")
        outcome = await runner.run(ctx, args.faults, args.settle)
    return report.build(ctx, outcome, round(time.monotonic() - started, 1))


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """One run, start to finish; the report (its `violations` empty when every invariant held)."""
    args = parse_args(argv)
    started = time.monotonic()
    stack = stackctl.fresh_stack()
    log(f"starting the stack in {stack.home}")
    try:
        stack.start()
        result = asyncio.run(_run(stack, args, started))
    except Exception as exc:
        traceback.print_exc()
        result = {
            "seed": args.seed,
            "faults_injected": 0,
            "accepted": 0,
            "lost": 0,
            "duplicated": 0,
            "dlq": 0,
            "duration_s": round(time.monotonic() - started, 1),
            "violations": [f"the run itself failed: {exc!r}"],
        }
    finally:
        stack.stop()
    result["server_errors"] = server_errors.unhandled(stack.home / "logs")
    result["gateway_errors"] = proxy_errors(gateway.log_path(stack.settings))
    result["home"] = str(stack.home)
    if not result["violations"] and not args.keep:
        shutil.rmtree(stack.home, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    result = run(argv)
    print(json.dumps(result, default=str), flush=True)
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
