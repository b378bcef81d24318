"""``mediation report monthly``."""

from __future__ import annotations

import sys
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
@click.option("--preparer", default="", help="填表人: printed in the sign-off block")
@click.option("--reviewer", default="", help="审核人: printed in the sign-off block")
def monthly(org_code: str, month: str, out: str, preparer: str, reviewer: str) -> None:
    """The monthly statistics report of an org unit, as PDF. A month not yet begun is refused;
    a month not yet over prints as an interim report (marked 中期, figures up to now)."""
    from mediation.documents.monthly import monthly_report_pdf
    from mediation.text import clean_text

    with unit_of_work() as session:
        data = monthly_report_pdf(session, org_code, month, preparer=clean_text(preparer),
                                  reviewer=clean_text(reviewer))
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        click.echo(f"error: --out: cannot write {out}: {exc.strerror}", err=True)
        sys.exit(1)
    click.echo(f"wrote {out} ({len(data) // 1024} kB)")
