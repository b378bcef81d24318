"""``mediation report monthly``."""

from __future__ import annotations

from pathlib import Path

import click

from mediation.cli import main, unit_of_work


@main.group("report")
def report() -> None:
    """Printed statistics reports."""


@report.command("monthly")
@click.option("--org", "org_code", required=True, help="CODE of the org unit")
@click.option("--month", required=True, metavar="YYYY-MM")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="the PDF file to write")
def monthly(org_code: str, month: str, out: str) -> None:
    """The monthly statistics report of an org unit, as PDF."""
    from mediation.documents.monthly import monthly_report_pdf

    with unit_of_work() as session:
        data = monthly_report_pdf(session, org_code, month)
    Path(out).write_bytes(data)
    click.echo(f"wrote {out} ({len(data) // 1024} kB)")
