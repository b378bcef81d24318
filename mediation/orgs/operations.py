"""Changes to the org tree."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.errors import FieldError, ValidationFailed
from mediation.i18n import Label, msg
from mediation.orgs.models import KINDS, PARENT_KIND, OrgUnit

KIND_LABELS = {"district": Label("区", "district"), "street": Label("街道", "street"),
               "community": Label("社区", "community"), "grid": Label("网格", "grid")}
# Codes go into URLs, filters and paths: letters, digits, '-', '_' and '.'.
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_SUFFIXES = ("社区居委会", "居委会", "社区", "街道", "村委会", "村")


def default_short_name(name: str) -> str:
    """The committee's short name for case numbers: the name without 社区/街道 and the like."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def find_org(session: Session, code: str) -> OrgUnit | None:
    """The unit with ``code``, or None."""
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def add_org_unit(session: Session, code: str, *, name: str, kind: str,
                 parent_code: str | None = None, short_name: str | None = None) -> OrgUnit:
    """Add a unit under ``parent_code``; a district has no parent, every other kind has the
    kind above it as parent."""
    errors = []
    code = (code or "").strip()
    name = (name or "").strip()
    if not _CODE.match(code):
        errors.append(FieldError("code", msg("code_invalid")))
    elif find_org(session, code) is not None:
        errors.append(FieldError("code", msg("code_taken", code=code)))
    if not name or len(name) > 100:
        errors.append(FieldError("name", msg("required") if not name else msg("too_long", max=100)))
    if kind not in KINDS:
        errors.append(FieldError("kind", msg("invalid_choice", choices=", ".join(KINDS))))
    parent = None
    if kind in PARENT_KIND:
        if not parent_code:
            errors.append(FieldError("parent", msg("required")))
        else:
            parent = find_org(session, parent_code)
            if parent is None:
                errors.append(FieldError("parent", msg("unknown_org", code=parent_code)))
            elif parent.kind != PARENT_KIND[kind]:
                errors.append(FieldError("parent", msg(
                    "parent_wrong_kind", expected=KIND_LABELS[PARENT_KIND[kind]], code=parent_code,
                    actual=KIND_LABELS[parent.kind])))
    elif kind == "district" and parent_code:
        errors.append(FieldError("parent", msg("district_no_parent")))
    if errors:
        raise ValidationFailed(errors=errors)
    unit = OrgUnit(
        code=code, name=name, kind=kind, parent=parent,
        short_name=(short_name or "").strip() or default_short_name(name),
        path=(parent.path if parent else "/") + code + "/",
    )
    session.add(unit)
    session.flush()
    return unit
