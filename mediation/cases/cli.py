"""``mediation sweep``, ``mediation audit verify`` and ``mediation demo``."""

from __future__ import annotations

import sys

import click
from sqlalchemy import or_, select

from mediation.cases.models import Case
from mediation.cli import main, runtime, unit_of_work
from mediation.timeutil import parse_iso
from mediation.workflow.audit import verify_case


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
    report = rt.engine.sweep(rt.db, now)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind.items())) or "nothing"
    click.echo(f"due {report.due}, fired {report.fired} ({kinds}), "
               f"already done {report.skipped}, errors {report.errors}")
    sys.exit(1 if report.errors else 0)


@main.group("audit")
def audit() -> None:
    """The tamper-evident trail."""


@audit.command("verify")
@click.option("--case", "case_no", default=None, metavar="CASE_NO", help="one case only")
def verify(case_no: str | None) -> None:
    """Recompute every event hash chain; exit 1 naming the first broken event."""
    broken = 0
    checked = 0
    with unit_of_work() as session:
        stmt = select(Case.id, Case.report_no, Case.version, Case.case_no).order_by(Case.id)
        if case_no:
            stmt = stmt.where(or_(Case.case_no == case_no, Case.report_no == case_no))
        rows = session.execute(stmt).all()
        if case_no and not rows:
            click.echo(f"error: no case {case_no}", err=True)
            sys.exit(2)
        for case_id, report_no, version, number in rows:
            report = verify_case(session, case_id, report_no, version)
            checked += 1
            if not report.valid:
                broken += 1
                name = f"{number} ({report_no})" if number else report_no
                click.echo(f"BROKEN {name}: event {report.broken_seq}: {report.reason}")
    click.echo(f"{checked} case(s) checked, {broken} broken")
    sys.exit(1 if broken else 0)


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
