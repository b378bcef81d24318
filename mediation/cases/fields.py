"""The ``user`` field of a definition (a mediator, a lawyer, a new handler): someone who serves
the case's grid; and what the case's attributes are to a definition's rules."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, select

from mediation.auth.models import ROLE_LABELS, User
from mediation.cases.models import Case
from mediation.i18n import N_, msg
from mediation.orgs.models import OrgUnit
from mediation.workflow import registry
from mediation.workflow.audit import HEAD_COLUMN
from mediation.workflow.definition import FieldDef
from mediation.workflow.fastpath import Statements, materialize, runner
from mediation.workflow.registry import FieldContext, field_type

_USERS = cast(Table, User.__table__)
_UNITS = cast(Table, OrgUnit.__table__)
_USER_COLS = tuple(_USERS.c)
_USER_KEYS = tuple(c.key for c in _USER_COLS)
# A user by name with the path of their unit, one statement.
_STATEMENTS = Statements(lambda _key: (
    select(*_USER_COLS, _UNITS.c.path)
    .join_from(_USERS, _UNITS, _UNITS.c.id == _USERS.c.org_unit_id)
    .where(_USERS.c.username == bindparam("b_username")),
    None, (*_USER_COLS, _UNITS.c.path)))

# What ``[[rules]]`` may test in ``when``: the columns of a case (not the chain head).
registry.case_attributes(c.key for c in Case.__table__.columns if c.key != HEAD_COLUMN)


def _bad(reason: Any) -> ValueError:
    return ValueError(reason)


def user_candidates(session: Any, fd: FieldDef, case: Any) -> list[User]:
    """Every user a ``user`` field of ``case`` accepts (active, of the field's role if it names
    one, in a unit that serves the case's grid), by name: what a picker lists."""
    stmt = (select(User).join(User.org_unit).where(User.active.is_(True))
            .order_by(User.full_name, User.username))
    if fd.role:
        stmt = stmt.where(User.role == fd.role)
    if case is not None:
        stmt = stmt.where(OrgUnit.path.in_(case.grid.lineage()))
    return list(session.scalars(stmt))


@field_type("user")
def user_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """The username of an active user (of the field's role, if it names one) whose unit
    serves the case's grid: one of :func:`user_candidates`."""
    if not isinstance(value, str) or not value.strip():
        raise _bad(msg("格式不正确，应为%(expected)s", expected=N_("用户名")))
    run = runner(ctx.session)
    row = run.execute(_STATEMENTS.get(run.dialect, "user"), {"b_username": value.strip()})
    if row is None or not row[_USER_KEYS.index("active")]:
        raise _bad(msg("用户“%(username)s”不存在", username=value))
    user = cast(User, materialize(ctx.session, User,
                                  dict(zip(_USER_KEYS, row[:-1], strict=True))))
    if fd.role and user.role != fd.role:
        raise _bad(msg("用户“%(username)s”不是%(role)s",
                       username=value, role=ROLE_LABELS.get(fd.role, fd.role)))
    if ctx.case is not None and row[-1] not in ctx.case.grid.lineage():
        raise _bad(msg("用户“%(username)s”不在本案件所属辖区", username=value))
    ctx.users[user.username] = user
    return user.username
