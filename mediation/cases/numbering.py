"""Case numbers ``（YYYY）<committee>人调字第NNNN号``: gapless per committee, series and year.

The counter row is incremented inside the transaction that creates the case, under a row lock
(PostgreSQL) or the database write lock (SQLite): a failed creation rolls its number back, and
two creations at once get consecutive numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mediation.cases.models import CaseCounter
from mediation.orgs.models import OrgUnit

# Years and dates on documents are those of China Standard Time (UTC+8, no daylight saving).
CST = timedelta(hours=8)


def local_year(now: datetime) -> int:
    """The year in China at ``now`` (naive UTC)."""
    return (now + CST).year


def format_case_no(year: int, committee: str, series: str, number: int) -> str:
    """``（2026）红石板人调字第0001号``."""
    return f"（{year}）{committee}{series}字第{number:04d}号"


def next_case_no(session: Session, committee: OrgUnit, series: str, now: datetime) -> str:
    """Take the next number of ``committee``'s ``series`` for the year of ``now``."""
    year = local_year(now)
    values = {"committee_id": committee.id, "series": series, "year": year, "last": 0}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(CaseCounter).values(**values).on_conflict_do_nothing())
    number = session.execute(
        update(CaseCounter)
        .where(CaseCounter.committee_id == committee.id, CaseCounter.series == series,
               CaseCounter.year == year)
        .values(last=CaseCounter.last + 1)
        .returning(CaseCounter.last)
    ).scalar_one()
    return format_case_no(year, committee.short_name, series, number)
