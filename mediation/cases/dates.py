"""Dates are facts: what a record may say about when something happened.

Every recorded date lies between the case's report (its China date) and today in China;
times that carry no offset are China time; dates far outside sense are refused with the
field named. Dates of things still to come (a term's due date, the performance deadline) lie
between the report and a horizon of 30 years.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from mediation.timeutil import utcnow

CST = timedelta(hours=8)
CHINA = timezone(CST, "Asia/Shanghai")
# A clock a few minutes ahead of the server's is not a time in the future.
TODAY_SLACK = timedelta(minutes=5)
HORIZON_YEARS = 30


def china_date(value: datetime) -> date:
    """The China date of a naive UTC time."""
    return (value + CST).date()


def china_today(now: datetime | None = None) -> date:
    """Today in China."""
    return china_date(now or utcnow())


def date_bounds(case: Any, *, horizon: bool = False, now: datetime | None = None
                ) -> tuple[date, date]:
    """(earliest, latest) date a record of ``case`` may carry: from the day it was reported
    to today, or to 30 years ahead for dates of what is still to be done (``horizon``)."""
    today = china_today(now)
    latest = today + timedelta(days=round(365.25 * HORIZON_YEARS)) if horizon else today
    return china_date(case.created_at), latest


def naive_utc(value: datetime) -> datetime:
    """A time as naive UTC; one without an offset is China time. ``OverflowError`` when it
    cannot be expressed (a year-1 time east of UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA)
    return value.astimezone(UTC).replace(tzinfo=None)


def local_date_of(text: str) -> date:
    """The date of an ISO 8601 date or date-time text: a date-time with an offset is taken
    to its China date, one without is China time already. ``ValueError`` if it is neither."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.date()
    try:
        return value.astimezone(CHINA).date()
    except OverflowError:
        raise ValueError(text) from None
