"""Who sees a case, and who may fire a trigger, record an action or touch the agreement.

The rule (DESIGN.md §1–2), the same for triggers, actions and the agreement:
- A user sees the cases of their unit's subtree and cases assigned to them; a user of the legal
  role sees only cases referred to the legal service of their district (and their own).
- The handler of a case is its assignee. With a handler, a trigger whose roles include the
  handler's role may be fired by the handler, and by a supervisor (a reviewer whose unit
  contains the case); a supervisor may also fire what their own role may. Without a handler,
  any user with a listed role whose unit contains the case may fire it. No declared role:
  nobody may (deny by default).
Which roles, which states and who supervises come from the workflow definition.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select

from mediation.auth.models import LEGAL_ROLE, ROLE_LABELS, User
from mediation.cases.models import Case
from mediation.i18n import Lazy, Msg, msg
from mediation.orgs.models import OrgUnit
from mediation.workflow.definition import Definition, Label


def _role(role: str) -> Lazy | str:
    return ROLE_LABELS.get(role, role)


def visible_clause(user: User) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Case` for the cases ``user`` may see."""
    own = Case.assignee_id == user.id
    units = select(OrgUnit.id).where(OrgUnit.path.startswith(user.org_unit.path, autoescape=True))
    if user.role == LEGAL_ROLE:
        return or_(own, Case.legal_unit_id.in_(units))
    return or_(own, Case.grid_id.in_(units))


def can_see(user: User, case: Case) -> bool:
    """Whether ``user`` may see ``case`` at all (otherwise: 404)."""
    if case.assignee_id == user.id:
        return True
    if user.role == LEGAL_ROLE:
        legal = case.legal_unit_id
        if legal is None:
            return False
        from sqlalchemy.orm import object_session

        session = object_session(case)
        unit = session.get(OrgUnit, legal) if session else None
        return unit is not None and user.org_unit.contains(unit)
    return user.org_unit.contains(case.grid)


def is_supervisor(definition: Definition, user: User, case: Case) -> bool:
    """A reviewer (the definition's supervisor role) whose unit contains the case."""
    return (definition.supervisor_role is not None and user.role == definition.supervisor_role
            and user.org_unit.contains(case.grid))


def refusal(definition: Definition, roles: Sequence[str], case: Case, user: User,
            what: Label | Lazy | str) -> Msg | None:
    """Why ``user`` may not do ``what`` (a trigger, action or "agreement") given ``roles``;
    None if they may."""
    if not roles:
        return msg("流程未规定谁可执行“%(trigger)s”", trigger=what)
    handler = case.assignee
    supervisor = is_supervisor(definition, user, case)
    if handler is not None:
        if user.id == handler.id and user.role in roles:
            return None
        if supervisor and (handler.role in roles or user.role in roles):
            return None
        if user.role not in roles:
            return msg("%(role)s不能执行“%(trigger)s”", role=_role(user.role), trigger=what)
        return msg("只有承办人（%(handler)s）或所在街道的审查员可以执行“%(trigger)s”",
                   handler=handler.display_name, trigger=what)
    if user.role not in roles:
        return msg("%(role)s不能执行“%(trigger)s”", role=_role(user.role), trigger=what)
    if not user.org_unit.contains(case.grid):
        return msg("案件不在您所在单位的辖区内")
    return None


def can_reveal(definition: Definition, user: User, case: Case) -> bool:
    """Whether ``user`` may see a party's full numbers (each view is logged): those who work
    the case (its handler, a supervisor, or while it has none, anyone of a role of the
    definition in scope), not everyone who can read it."""
    if not can_see(user, case):
        return False
    roles = sorted({r for t in definition.transitions.values() for r in t.roles})
    return refusal(definition, roles, case, user, "") is None
