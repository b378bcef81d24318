"""``mediation sweep``, ``mediation audit verify`` and ``mediation demo``."""

from __future__ import annotations

import sys

import click
from sqlalchemy import or_, select

from mediation.cases.evidence import verify_all
from mediation.cases.models import Case
from mediation.cli import main, runtime, unit_of_work
from mediation.timeutil import parse_iso
from mediation.workflow.checkpoints import CheckpointError


@main.command("sweep")
@click.option("--now", "now_text", default=None, metavar="ISO-TIME",
              help="run the sweep as if it were this time (default: now)")
def sweep(now_text: str | None) -> None:
    """Fire each deadline due by that time exactly once."""
    try:
        now = parse_iso(now_text) if now_text else None
    except ValueError:
        click.echo(f"error: --now: not an ISO 8601 time: {now_text!r}", err=True)
        sys.exit(2)
    rt = runtime()
    report = rt.sweep(now)  # and a checkpoint of the chain heads that moved
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind.items())) or "nothing"
    click.echo(f"due {report.due}, fired {report.fired} ({kinds}), "
               f"already done {report.skipped}, errors {report.errors}")
    sys.exit(1 if report.errors else 0)


@main.group("audit")
def audit() -> None:
    """The tamper-evident trail."""


@audit.command("verify")
@click.option("--case", "case_no", default=None, metavar="CASE_NO",
              help="one case only (its case number or report number)")
def verify(case_no: str | None) -> None:
    """Verify every case's record: its hash chain, the case row and every row of evidence
    (parties, agreements, terms, signatures) against the replay of the chain, and the chain
    against the signed checkpoints. Names each broken case and what broke; exit 1 if any."""
    rt = runtime()
    ledger = rt.checkpoints().read()
    with unit_of_work() as session:
        ids = None
        if case_no:
            ids = list(session.scalars(select(Case.id).where(
                or_(Case.case_no == case_no, Case.report_no == case_no))))
            if not ids:
                click.echo(f"error: no case {case_no}", err=True)
                sys.exit(2)
        reports, general = verify_all(session, ledger, ids)
    broken = [r for r in reports if not r.valid]
    for report in broken:
        for p in report.problems:
            click.echo(f"BROKEN {report.number}: {p.what} {p.where}: {p.detail}")
    for p in general:
        click.echo(f"BROKEN {p.where}: {p.what}: {p.detail}")
    click.echo(f"{len(reports)} case(s) checked, {len(broken)} broken"
               + (f", {len(general)} other problem(s)" if general else "")
               + f"; {ledger.count} checkpoint(s)")
    sys.exit(1 if broken or general else 0)


@audit.command("checkpoint")
def checkpoint() -> None:
    """Record the head of every chain that moved since the last checkpoint, signed, outside
    the database (MEDIATION_AUDIT_DIR; key: MEDIATION_AUDIT_KEY or its key file)."""
    rt = runtime()
    store = rt.checkpoints()
    try:
        with unit_of_work() as session:
            path = store.write(session)
    except CheckpointError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"checkpoint written: {path}" if path else "no chain moved: no checkpoint")
    click.echo(f"public key: {store.public_key_b64()}")


@main.command("demo")
@click.option("--cases", "count", default=40, show_default=True, type=click.IntRange(0, 5000),
              help="how many cases (spread over every state)")
def demo(count: int) -> None:
    """Fill an empty database with a demo district, users of every role and cases."""
    from mediation.cases.demo import DemoRefused, fill

    rt = runtime()
    try:
        summary = fill(rt, count)
    except DemoRefused as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(summary)
