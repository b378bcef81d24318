"""Numbers a case carries: a report number from the moment the whistle is blown, and the
committee's case number ``（YYYY）<committee>人调字第NNNN号`` once it is accepted for mediation.

Both come from counters per committee, series and year (China time), incremented inside the
transaction that gives the number, under a row lock (PostgreSQL) or the database write lock
(SQLite): a failed creation or acceptance rolls its number back, so case numbers are gapless,
and two at once get consecutive numbers. A report that is never accepted never takes a case
number.
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
# The counter series of report numbers is the definition's report series prefixed with this
# (so it can never collide with a case-number series).
REPORT_PREFIX = "报:"


def local_year(now: datetime) -> int:
    """The year in China at ``now`` (naive UTC)."""
    return (now + CST).year


def format_case_no(year: int, committee: str, series: str, number: int) -> str:
    """``（2026）红石板人调字第0001号``."""
    return f"（{year}）{committee}{series}字第{number:04d}号"


def format_report_no(year: int, committee: str, series: str, number: int) -> str:
    """``红石板-报2026-0001``: plainly not an official case number."""
    return f"{committee}-{series}{year}-{number:04d}"


def _take(session: Session, committee: OrgUnit, series: str, year: int) -> int:
    values = {"committee_id": committee.id, "series": series, "year": year, "last": 0}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(CaseCounter).values(**values).on_conflict_do_nothing())
    return int(session.execute(
        update(CaseCounter)
        .where(CaseCounter.committee_id == committee.id, CaseCounter.series == series,
               CaseCounter.year == year)
        .values(last=CaseCounter.last + 1)
        .returning(CaseCounter.last)
    ).scalar_one())


def next_case_no(session: Session, committee: OrgUnit, series: str, now: datetime) -> str:
    """Take the next case number of ``committee``'s ``series`` for the year of ``now``."""
    year = local_year(now)
    return format_case_no(year, committee.short_name, series,
                          _take(session, committee, series, year))


def next_report_no(session: Session, committee: OrgUnit, series: str, now: datetime) -> str:
    """Take the next report number of ``committee``'s report ``series`` for the year of
    ``now``."""
    year = local_year(now)
    return format_report_no(year, committee.short_name, series,
                            _take(session, committee, REPORT_PREFIX + series, year))
