"""Changes to the org tree."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.errors import FieldError, ValidationFailed
from mediation.i18n import N_, msg
from mediation.orgs.models import KINDS, PARENT_KIND, OrgUnit

KIND_LABELS = {"district": N_("区"), "street": N_("街道"),
               "community": N_("社区"), "grid": N_("网格")}
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
        errors.append(FieldError("code", msg("编码应为1–40个字母、数字或 - _ .，以字母或数字开头")))
    elif find_org(session, code) is not None:
        errors.append(FieldError("code", msg("编码“%(code)s”已存在", code=code)))
    if not name or len(name) > 100:
        errors.append(FieldError("name", msg("此项为必填项") if not name else msg("长度不能超过%(max)s个字符",
                                                                            max=100)))
    if kind not in KINDS:
        errors.append(FieldError("kind", msg("取值无效，可选：%(choices)s", choices=", ".join(KINDS))))
    parent = None
    if kind in PARENT_KIND:
        if not parent_code:
            errors.append(FieldError("parent", msg("此项为必填项")))
        else:
            parent = find_org(session, parent_code)
            if parent is None:
                errors.append(FieldError("parent", msg("单位“%(code)s”不存在", code=parent_code)))
            elif parent.kind != PARENT_KIND[kind]:
                errors.append(FieldError("parent", msg(
                    "上级单位应为%(expected)s，“%(code)s”是%(actual)s",
                    expected=KIND_LABELS[PARENT_KIND[kind]], code=parent_code,
                    actual=KIND_LABELS[parent.kind])))
    elif kind == "district" and parent_code:
        errors.append(FieldError("parent", msg("区级单位没有上级单位")))
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


def org_tree(session: Session) -> list[OrgUnit]:
    """Every unit, each after its parent (depth-first by path)."""
    return list(session.scalars(select(OrgUnit).order_by(OrgUnit.path)))
