"""Forms of the pages: a base form (text cleaned of invisible characters, an operation's errors
put next to their fields) and the form factory that builds the form of any trigger or action
from its definition's fields, so that a new field in the TOML needs no new Python.

Each field type of the definition has an input (:data:`INPUTS`): ``text`` a large text area
(the phone keyboard's voice input works there), ``date`` quick choices (today, yesterday) and a
date input, ``user`` a list of exactly the people the engine would accept, by name, ``choice``
radio buttons with the definition's words, ``names`` a text area of names, ``confirm`` a check
box. A type without its own input gets a text area. The engine alone validates what is sent: its
errors come back next to the fields (:func:`show_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    Field,
    FileField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.form import BaseForm

from mediation.auth.models import User
from mediation.cases.fields import user_candidates
from mediation.cases.models import Case
from mediation.cases.numbering import CST
from mediation.errors import FieldError
from mediation.i18n import N_
from mediation.text import clean_text
from mediation.timeutil import utcnow
from mediation.workflow.definition import Definition, FieldDef


def _cleaner(multiline: bool) -> Callable[[Any], Any]:
    def clean(value: Any) -> Any:
        return clean_text(value, multiline=multiline).strip() if isinstance(value, str) else value
    return clean


class PageForm(FlaskForm):
    """Base of every page form: CSRF (Flask-WTF), and every text field cleaned of bidi and
    control characters (mediation.text) and of surrounding spaces. Passwords stay as typed."""

    class Meta:
        """Fields bound with the cleaning filter."""

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            """Bind a field; text fields get the cleaning filter."""
            cls = unbound_field.field_class
            if issubclass(cls, StringField) and not issubclass(cls, PasswordField):
                filters = (*unbound_field.kwargs.get("filters", ()),
                           _cleaner(issubclass(cls, TextAreaField)))
                unbound_field.kwargs["filters"] = filters
            return unbound_field.bind(form=form, **options)

    def error_count(self) -> int:
        """How many fields (and the form itself) have errors: the summary's 有N处需要修改."""
        return sum(1 for f in all_fields(self) if f.errors) + len(self.form_errors)


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, words) pairs as the choices of a select or radio field."""
    return [SelectChoice(value, label) for value, label in pairs]


def all_fields(form: BaseForm) -> Iterable[Field]:
    """Every field of ``form``, those of nested forms and lists included."""
    for field in form:
        entries = getattr(field, "entries", None)
        if entries is not None:
            for entry in entries:
                sub = getattr(entry, "form", None)
                yield from (all_fields(sub) if sub is not None else (entry,))
        elif getattr(field, "form", None) is not None and hasattr(field.form, "_fields"):
            yield from all_fields(field.form)
        else:
            yield field


def field_at(form: BaseForm, path: str) -> Field | None:
    """The field of ``form`` at a dotted error path: ``data.reason`` → ``reason``,
    ``parties.0.phone`` → the first party's phone."""
    parts = path.split(".")
    if parts and parts[0] == "data":
        parts = parts[1:]
    node: Any = form
    for part in parts:
        if node is None:
            return None
        if part.isdigit():
            entries = getattr(node, "entries", [])
            node = entries[int(part)] if int(part) < len(entries) else None
            node = getattr(node, "form", node)
        else:
            node = node._fields.get(part) if hasattr(node, "_fields") else None
    return node if isinstance(node, Field) else None


def show_errors(form: PageForm, errors: Iterable[FieldError], lang: str) -> None:
    """Put an operation's field errors next to their fields (the rest above the form)."""
    for error in errors:
        field = field_at(form, error.field)
        text = error.message.render(lang)
        if field is not None and not isinstance(field, HiddenField):
            field.errors = [*field.errors, text]
        else:
            form.form_errors.append(text)


# -- dates -------------------------------------------------------------------------------------

_DATE_SEPARATORS = re.compile(r"[./年月日\-\s]+")


def parse_day(text: str) -> str | None:
    """A date typed as 2026-11-30, 2026/11/30, 2026.11.30, 2026年11月30日 or 20261130, as ISO;
    None when it is not one."""
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    parts = [p for p in _DATE_SEPARATORS.split(text) if p]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    except ValueError:
        return None


def today() -> date:
    """Today in China."""
    return (utcnow() + CST).date()


class DayField(Field):
    """A date as quick choices first (today, yesterday), then a date input for an earlier day
    (UX.md §4). The choices are radio buttons named as the field; the date input is
    ``<name>-other`` and wins when filled. ``data`` is an ISO date, or what was typed when it is
    not a date (the engine then says why)."""

    QUICK = ("today", "yesterday", "other")

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.quick = "today"
        self.other = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the chosen quick day, or the typed date."""
        self.quick = valuelist[0] if valuelist and valuelist[0] in self.QUICK else "other"

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        """Read both inputs (the choice and the date)."""
        super().process(formdata, data, extra_filters)
        if formdata is not None and self.name in formdata:
            self.other = str(formdata.get(f"{self.name}-other", "")).strip()
            if self.other:
                self.quick = "other"
        elif isinstance(data, str) and data:
            self.quick, self.other = "other", data
        self.data = self.value()

    def value(self) -> str | None:
        """The day chosen, as ISO (or as typed, when it is not a date; None when empty)."""
        if self.quick == "today":
            return today().isoformat()
        if self.quick == "yesterday":
            return (today() - timedelta(days=1)).isoformat()
        if not self.other:
            return None
        return parse_day(self.other) or self.other

    def _value(self) -> str:
        return self.other


# -- the form factory --------------------------------------------------------------------------

@dataclass
class FieldContext:
    """What an input may need to know: the case, who fills the form in, where."""

    session: Session
    case: Case | None
    actor: User
    lang: str
    definition: Definition


InputFactory = Callable[[FieldDef, bool, FieldContext], Any]
INPUTS: dict[str, InputFactory] = {}
PICK_ONE = N_("请选择")
NAMES_HINT = N_("多人请用顿号或逗号隔开")


def input_for(field_type: str) -> Callable[[InputFactory], InputFactory]:
    """Register the input of a definition's field type."""
    def deco(fn: InputFactory) -> InputFactory:
        INPUTS[field_type] = fn
        return fn
    return deco


def _kw(fd: FieldDef, required: bool, ctx: FieldContext, **render: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"label": fd.label.get(ctx.lang)}
    if fd.hint is not None:
        kw["description"] = fd.hint.get(ctx.lang)
    if required:
        render["aria-required"] = "true"
    kw["render_kw"] = render
    return kw


@input_for("text")
def text_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """A large text area: room for what people said, and for the keyboard's voice input; a
    one-line input when the definition says the answer is short (``rows = 1``)."""
    if fd.rows == 1:
        return StringField(**_kw(fd, required, ctx))
    return TextAreaField(**_kw(fd, required, ctx, rows=fd.rows or 4))


@input_for("file")
def file_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """A photo, from the camera or the album (checked and kept by the page's view)."""
    return FileField(**_kw(fd, required, ctx, accept="image/*"))


@input_for("date")
def date_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """Today / yesterday / an earlier day."""
    return DayField(**_kw(fd, required, ctx))


@input_for("user")
def user_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """The people the engine would accept for this field, by name."""
    people = user_candidates(ctx.session, fd, ctx.case)
    options = [("", PICK_ONE.get(ctx.lang))] + [
        (u.username, f"{u.display_name}（{u.org_unit.name}）" if ctx.lang != "en"
         else f"{u.display_name} ({u.org_unit.name})") for u in people]
    default = ctx.actor.username if fd.default == "actor" and ctx.actor in people else ""
    return SelectField(choices=choices(options), default=default, **_kw(fd, required, ctx))


@input_for("choice")
def choice_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """The definition's choices, in its words."""
    options = [(c, fd.choice_labels[c].get(ctx.lang) if c in fd.choice_labels else c)
               for c in fd.choices]
    return RadioField(choices=choices(options), validate_choice=False,
                      **_kw(fd, required, ctx))


@input_for("names")
def names_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """Names, one text (the engine splits it), filled in with the parties' names."""
    names = "、".join(p.name for p in ctx.case.parties) if ctx.case is not None else ""
    kw = _kw(fd, required, ctx, rows=2)
    kw.setdefault("description", NAMES_HINT.get(ctx.lang))
    return TextAreaField(default=names, **kw)


@input_for("confirm")
def confirm_input(fd: FieldDef, required: bool, ctx: FieldContext) -> Any:
    """A check box the user must tick."""
    return BooleanField(**_kw(fd, required, ctx))


class StepForm(PageForm):
    """The form of one trigger or action (built by :func:`step_form`)."""

    # The case's version when the page was drawn: a trigger fired on a case that changed since
    # is refused (此案件状态已变化).
    version = HiddenField()
    fields_of_step: tuple[str, ...] = ()
    required_of_step: frozenset[str] = frozenset()

    def engine_data(self) -> dict[str, Any]:
        """What was filled in, as the engine takes it (empty inputs left out)."""
        out: dict[str, Any] = {}
        for name in self.fields_of_step:
            field = self._fields[name]
            value = field.data
            if isinstance(field, BooleanField):
                value = True if value else None
            elif isinstance(field, FileField):
                value = getattr(value, "filename", None) or None
            if value in (None, "", []):
                continue
            out[name] = value
        return out

    def has_files(self) -> bool:
        """Whether the form sends a file (multipart)."""
        return any(isinstance(self._fields[n], FileField) for n in self.fields_of_step)

    def shown_values(self, lang: str) -> list[tuple[str, str]]:
        """(label, value as shown) of what was filled in: the confirmation page's summary, and
        what a refused page keeps for the user."""
        shown = []
        for name in self.fields_of_step:
            field = self._fields[name]
            if isinstance(field, BooleanField):
                text = N_("是").get(lang) if field.data else ""
            elif isinstance(field, SelectField | RadioField):
                text = next((str(c.label) for c in field.choices or ()
                             if c.value == field.data), "") if field.data else ""
            elif isinstance(field, DayField):
                text = field.data or ""
            else:
                text = str(field.data or "")
            if text:
                shown.append((str(field.label.text), text))
        return shown


def step_form(definition: Definition, requires: tuple[str, ...], optional: tuple[str, ...],
              ctx: FieldContext) -> type[StepForm]:
    """The form class of a step that asks for ``requires`` and ``optional`` (fields of
    ``definition``), each with the input of its type and the label the definition gives it."""
    attrs: dict[str, Any] = {
        "fields_of_step": (*requires, *optional),
        "required_of_step": frozenset(requires),
    }
    for name in (*requires, *optional):
        fd = definition.fields[name]
        factory = INPUTS.get(fd.type, text_input)
        attrs[name] = factory(fd, name in requires, ctx)
    return type("StepForm", (StepForm,), attrs)
