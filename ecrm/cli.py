"""The `ecrm` command: run the stack, inspect it, mint tokens, replay the outboxes."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer

from ecrm import status as status_mod
from ecrm.topology import available_services
from shared.auth import issue_token
from shared.settings import get_settings

app = typer.Typer(help="Event-driven eCRM: the stack and its tools.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the HTTP API.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command()
def up() -> None:
    """Start the whole stack in the foreground (Ctrl-C stops it)."""
    from ecrm.embedded.stack import print_ready, run_stack
    from ecrm.embedded.supervisor import StartupError

    try:
        asyncio.run(run_stack(get_settings(), on_ready=print_ready))
    except StartupError as exc:
        typer.echo(f"ecrm up: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Health of every part, consumer lag per group, outbox backlog per service, the events
    the broker holds (and the embedded broker's memory)."""
    report = asyncio.run(status_mod.collect(get_settings()))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        status_mod.render(report)
    raise typer.Exit(0 if report["healthy"] else 1)


@token_app.command("create")
def token_create(
    scope: Annotated[list[str], typer.Option("--scope", help="e.g. contacts:read; * for all")],
    subject: Annotated[str, typer.Option(help="who the token is for")] = "cli",
    ttl_days: Annotated[int, typer.Option(help="days until it expires")] = 30,
) -> None:
    """Print a signed bearer token (last line of output)."""
    settings = get_settings()
    typer.echo(issue_token(settings.resolved_signing_key(), scope, subject, ttl_days))


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="the token itself, or its id (jti)")],
) -> None:
    """Revoke a token in every service (effective within a second, no restart)."""
    from shared.auth import unverified_claims

    if token.count(".") == 2:
        claims = unverified_claims(token)
        jti, expires = claims.get("jti"), claims.get("exp")
    else:
        jti, expires = token, None
    if not jti:
        raise typer.BadParameter("the token carries no id")
    done = asyncio.run(
        status_mod.revoke_everywhere(get_settings(), available_services(), jti, expires)
    )
    typer.echo(f"revoked {jti} in {', '.join(done)}")


writekey_app = typer.Typer(help="Write keys of the tracking API.", no_args_is_help=True)
app.add_typer(writekey_app, name="writekey")


@writekey_app.command("rotate")
def writekey_rotate(
    grace_hours: Annotated[float, typer.Option(help="hours the old keys keep working")] = 24.0,
) -> None:
    """Make a new write key (printed last); the old ones stop after the grace period. No restart."""
    from shared.auth import new_write_key

    settings = get_settings()
    key = new_write_key()
    asyncio.run(status_mod.rotate_write_key(settings, key, grace_hours * 3600))
    typer.echo(key)


@app.command()
def replay(
    service: Annotated[list[str] | None, typer.Option(help="only these services")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="only events stored since (ISO time)")
    ] = None,
) -> None:
    """Republish retained outbox events (after a broker restart); consumers apply each once."""
    counts = asyncio.run(status_mod.replay(get_settings(), service or available_services(), since))
    for name, count in counts.items():
        typer.echo(f"{name}: {count} events queued for republishing")


@app.command()
def bench(
    smoke: Annotated[bool, typer.Option(help="a seconds-long run (CI)")] = False,
    record: Annotated[
        Path | None,
        typer.Option(help="keep the run in DIR/last-run.log and DIR/history.jsonl", metavar="DIR"),
    ] = None,
) -> None:
    """Benchmark a fresh embedded stack; prints one JSON object last."""
    from bench.runner import main as run_bench

    run_bench(smoke, record)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, help="how many customers")] = 200,
    minutes: Annotated[float | None, typer.Option(min=0.05, help="run this long")] = None,
    seconds: Annotated[float | None, typer.Option(min=3, help="run this long")] = None,
    seed: Annotated[int | None, typer.Option(help="the same seed gives the same traffic")] = None,
) -> None:
    """Realistic traffic on every channel through the gateway of a running stack."""
    from ecrm.demo import main as run_demo

    if minutes is not None and seconds is not None:
        raise typer.BadParameter("give --minutes or --seconds, not both")
    duration = seconds if seconds is not None else 60 * (minutes if minutes is not None else 2)
    raise typer.Exit(run_demo(get_settings(), customers, duration, seed))


@app.command("import")
def import_customers(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV file")],
    update: Annotated[
        str, typer.Option(help="fill: only what customers lack; overwrite: what the file names")
    ] = "fill",
    legal_basis: Annotated[
        str | None, typer.Option(help="recorded with the consent the file gives")
    ] = None,
) -> None:
    """Import customers from a CSV file of any size (in parts, through the gateway); refused
    rows are listed by their line. Running it again is safe."""
    from ecrm.demo import DemoError, secrets_of
    from ecrm.importer import ImportFailed, Totals, import_file

    if update not in ("fill", "overwrite"):
        raise typer.BadParameter("fill or overwrite", param_hint="--update")
    settings = get_settings()
    try:
        token, _ = secrets_of(settings)
    except DemoError as exc:
        raise typer.BadParameter(str(exc)) from None
    params = {"update": update} | ({"legal_basis": legal_basis} if legal_basis else {})

    def progress(part: int, totals: Totals) -> None:
        done = totals.created + totals.updated + totals.unchanged + len(totals.rejected)
        typer.echo(f"part {part}: {done} rows", err=True)

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=settings.public_base_url, headers=headers, timeout=60) as client:
        try:
            totals = import_file(client, path, params, progress)
        except ImportFailed as exc:
            typer.echo(f"ecrm import: {exc}; the parts before it are imported", err=True)
            raise typer.Exit(2) from None
    for refused in totals.rejected:
        reasons = "; ".join(f"{e['field']}: {e['message']}" for e in refused["errors"])
        typer.echo(f"line {refused['row']}: {reasons}")
    typer.echo(
        f"created {totals.created}, updated {totals.updated}, unchanged {totals.unchanged},"
        f" refused {len(totals.rejected)}"
    )
    raise typer.Exit(1 if totals.rejected else 0)


@app.command()
def topics() -> None:
    """Create every topic of the event catalogue (and its dead-letter topic) that is missing."""
    from shared.events.catalogue import all_topics
    from shared.kafka_admin import ensure_topics

    settings = get_settings()
    created = asyncio.run(ensure_topics(settings.kafka, all_topics(), settings.topic_partitions))
    typer.echo(f"{len(created)} topics created on {settings.kafka}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
