"""The built-in deadline anchors and field types a definition may name (the guards and facts
of people's mediation are in mediation.cases.rules, its ``user`` field in
mediation.cases.fields)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from mediation.i18n import N_, Label, Msg, msg
from mediation.timeutil import utcnow
from mediation.workflow.definition import FieldDef
from mediation.workflow.registry import FieldContext, anchor, field_type

CST = timedelta(hours=8)

# The actions these guards look for. Action names, like the guards themselves, are the
# vocabulary of people's mediation (DESIGN.md §2); states and triggers stay in the definition.
ORAL_AGREEMENT = "register_oral_agreement"
FOLLOW_UP = "record_follow_up"
PERFORMED = "performed"

TEXT_MAX = 5000
NAMES_MAX = 50


@anchor("entered")
def entered(_session: Any, _case: Any, now: datetime) -> datetime:
    """Deadlines count from entering the state."""
    return now


def _bad(reason: Msg) -> ValueError:
    return ValueError(reason)


@field_type("text")
def text_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """A non-blank text of at most 5000 characters."""
    if not isinstance(value, str):
        raise _bad(msg("格式不正确，应为%(expected)s", expected=N_("文本")))
    value = value.strip()
    if not value:
        raise _bad(msg("不能为空"))
    if len(value) > TEXT_MAX:
        raise _bad(msg("长度不能超过%(max)s个字符", max=TEXT_MAX))
    return value


def _day(text: str) -> date:
    """The date of an ISO 8601 date or date-time (one with an offset taken to its China
    date; one without is China time already)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC) + CST  # OverflowError at the ends of time
    return value.date()


@field_type("file")
def file_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """A file's name, as its uploader's device named it (the pages keep the file itself; the
    API records the name of a file kept elsewhere): a text."""
    return text_field(value, fd, ctx)


@field_type("date")
def date_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """An ISO 8601 date (a date-time is cut to its China date); stored as ``YYYY-MM-DD``.

    Every date a record asks for is of something that happened (a visit, a session, an
    application to court): on or after the day the case was reported, and not later than
    today, in China."""
    if not isinstance(value, str):
        raise _bad(msg("日期格式不正确（应为 YYYY-MM-DD）"))
    try:
        day = _day(value.strip())
    except (ValueError, OverflowError):
        raise _bad(msg("日期格式不正确（应为 YYYY-MM-DD）")) from None
    if day > (utcnow() + CST).date():
        raise _bad(msg("日期不能晚于今天"))
    if ctx.case is not None:
        reported = (ctx.case.created_at + CST).date()
        if day < reported:
            raise _bad(msg("日期不能早于案件登记日（%(day)s）", day=reported.isoformat()))
    return day.isoformat()


@field_type("confirm")
def confirm_field(value: Any, fd: FieldDef, ctx: FieldContext) -> bool:
    """Must be JSON ``true``."""
    if value is not True:
        raise _bad(msg("必须确认"))
    return True


@field_type("choice")
def choice_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """One of the field's ``choices``."""
    if not isinstance(value, str) or value not in fd.choices:
        named = [f"{c}（{fd.choice_labels[c].zh}）" if c in fd.choice_labels else c
                 for c in fd.choices]
        raise _bad(msg("取值无效，可选：%(choices)s", choices=Label("、".join(named), ", ".join(fd.choices))))
    return value


@field_type("names")
def names_field(value: Any, fd: FieldDef, ctx: FieldContext) -> list[str]:
    """A list of names (a single text is split on 、，, and spaces)."""
    if isinstance(value, str):
        import re

        value = [v for v in re.split(r"[、，,;；\s]+", value) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(msg("应为列表"))
    names = [v.strip() for v in value if v.strip()]
    if len(names) > NAMES_MAX:
        raise _bad(msg("最多%(max)s项", max=NAMES_MAX))
    if any(len(n) > 100 for n in names):
        raise _bad(msg("长度不能超过%(max)s个字符", max=100))
    return names
