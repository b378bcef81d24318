"""Time in one form everywhere: naive UTC datetimes with microsecond precision.

The database stores naive UTC (SQLite has no time zones); the API speaks ISO 8601 with ``Z``.
"""

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def utcnow() -> datetime:
    """Now, as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(value: datetime) -> datetime:
    """Normalise an aware or naive datetime to naive UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` allowed) into naive UTC; naive input is taken as UTC."""
    return to_naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def iso(value: datetime | None) -> str | None:
    """Format a naive UTC datetime as ISO 8601 with ``Z``."""
    if value is None:
        return None
    return to_naive_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_duration(text: str) -> timedelta:
    """Parse a definition's duration: ``30m``, ``24h``, ``15d``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 24h, 15d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
