"""How the pages say derived facts: each has one definition, used by every template.

A state's words come from the case's pinned definition, a risk level's and a category's from
:mod:`mediation.cases.models`, "overdue" from :meth:`Case.is_overdue`, a masked number from
:mod:`mediation.security`. Times are shown in China time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from markupsafe import Markup

from mediation.auth.models import ROLE_LABELS
from mediation.cases.models import (
    CATEGORY_LABELS,
    PARTY_ROLE_LABELS,
    RISK_LABELS,
    SOURCE_LABELS,
    Case,
    Party,
)
from mediation.cases.numbering import CST
from mediation.i18n import Label, Lazy
from mediation.security import mask_id_number, mask_phone
from mediation.timeutil import parse_iso, utcnow
from mediation.web import db_session, lang, runtime

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def words(value: Label | Lazy | str | None) -> str:
    """A label in the page's language (data labels carry both; marked texts are translated)."""
    if value is None:
        return ""
    if isinstance(value, Label | Lazy):
        return value.get(lang())
    return str(value)


def state_label(case: Case) -> str:
    """The words of the case's state, from its pinned definition."""
    definition = runtime().engine.definition(db_session(), case)
    return definition.state(case.state).label.get(lang())


def workflow_label(case: Case) -> str:
    """The name of the case's workflow."""
    return runtime().engine.definition(db_session(), case).label.get(lang())


def risk_label(level: str) -> str:
    """The words of a risk level."""
    return words(RISK_LABELS.get(level, level))


def category_label(category: str) -> str:
    """The words of a category."""
    return words(CATEGORY_LABELS.get(category, category))


def party_role_label(role: str) -> str:
    """The words of a party's role."""
    return words(PARTY_ROLE_LABELS.get(role, role))


def source_label(source: str) -> str:
    """The words of a case's source."""
    return words(SOURCE_LABELS.get(source, source))


def role_label(role: str) -> str:
    """The words of a user's role."""
    return words(ROLE_LABELS.get(role, role))


def case_number(case: Case) -> str:
    """The number a case goes by: its case number once accepted, else its report number."""
    return case.number


def is_overdue(case: Case) -> bool:
    """Whether the case is overdue now (:meth:`Case.is_overdue`)."""
    return bool(case.is_overdue(utcnow()))


def masked_phone(party: Party) -> str:
    """The party's phone, masked (``138****5678``)."""
    return mask_phone(runtime().cipher.decrypt(party.phone_enc)) or ""


def masked_id(party: Party) -> str:
    """The party's ID number, masked."""
    return mask_id_number(runtime().cipher.decrypt(party.id_number_enc)) or ""


def local(value: datetime) -> datetime:
    """A stored (UTC) time in China time."""
    return value + CST


def when(value: datetime | None, *, year: bool = False) -> str:
    """An absolute time in China time: 11月30日 14:05 / 30 Nov 14:05 (with the year when asked
    or not this year)."""
    if value is None:
        return ""
    t = local(value)
    show_year = year or t.year != local(utcnow()).year
    if lang() == "en":
        text = f"{t.day} {_MONTHS[t.month - 1]}" + (f" {t.year}" if show_year else "")
        return f"{text}, {t:%H:%M}"
    return (f"{t.year}年" if show_year else "") + f"{t.month}月{t.day}日 {t:%H:%M}"


def day(value: date | datetime | str | None) -> str:
    """A date: 2026年11月30日 / 30 Nov 2026 (a stored time, or its ISO text as the API gives
    it, is taken in China time)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            # a stored time (``2026-11-30T17:00:00Z``, UTC) is a China date; a bare date is one
            value = parse_iso(value) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = local(value).date()
    if lang() == "en":
        return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"


def days_since(value: datetime | None) -> int:
    """Whole days from ``value`` to now."""
    if value is None:
        return 0
    return max(0, (utcnow() - value).days)


def lines(text: str | None) -> Markup:
    """Text as typed, escaped, with its line breaks kept."""
    from markupsafe import escape

    return Markup("<br>").join(escape(line) for line in (text or "").splitlines())


# The page of each option kind (Engine.options): triggers and actions have their own page under
# the case; the agreement's pages come from the agreements blueprint.
OPTION_PAGES = {"trigger": "cases.step", "action": "cases.step", "agreement": "agreements.edit"}


def option_url(case: Case, option: Any) -> str | None:
    """Where the button of an option leads (None while that page does not exist)."""
    from flask import current_app, url_for

    endpoint = OPTION_PAGES.get(option.kind)
    if endpoint is None or endpoint not in current_app.view_functions:
        return None
    if option.kind == "agreement":
        return url_for(endpoint, case_id=case.id)
    return url_for(endpoint, case_id=case.id, name=option.name)


def pair(label: Any, value: Any) -> str:
    """``label：value`` (Chinese punctuation) or ``label: value`` (English)."""
    return f"{label}: {value}" if lang() == "en" else f"{label}：{value}"


def paren(text: Any) -> str:
    """``（text）`` or `` (text)``."""
    return f" ({text})" if lang() == "en" else f"（{text}）"


def listing(items: Any) -> str:
    """Names joined with 、 or with commas."""
    return (", " if lang() == "en" else "、").join(str(i) for i in items)


def form_fields(form: Any) -> list[Any]:
    """Every visible field of a form, nested ones included (the error summary's links)."""
    from wtforms import HiddenField

    from mediation.pages.forms import all_fields

    return [f for f in all_fields(form) if not isinstance(f, HiddenField)
            and f.name != "csrf_token"]


def urlencode_with(args: Any, **changes: Any) -> str:
    """The query string ``args`` with ``changes`` (the pager's links keep the filters)."""
    from urllib.parse import urlencode

    pairs = [(k, v) for k, v in args.items(multi=True) if k not in changes]
    return urlencode(pairs + [(k, v) for k, v in changes.items()])


def register(app: Flask) -> None:
    """Make the helpers template filters and globals."""
    for fn in (words, state_label, workflow_label, risk_label, category_label, party_role_label,
               source_label, role_label, case_number, is_overdue, masked_phone, masked_id, when,
               day, days_since, lines, option_url, form_fields, urlencode_with, pair, paren,
               listing):
        app.jinja_env.filters[fn.__name__] = fn
        app.jinja_env.globals[fn.__name__] = fn
