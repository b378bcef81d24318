"""Reading cases: the visible list with filters, sorted as a work queue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from mediation.auth.models import User
from mediation.cases import search
from mediation.cases.models import Case
from mediation.cases.permissions import visible_clause
from mediation.orgs.models import OrgUnit
from mediation.timeutil import utcnow
from mediation.workflow.definition import Definition


@dataclass
class CaseFilter:
    """What the list is narrowed to."""

    state: str | None = None
    grid: str | None = None
    category: str | None = None
    workflow: str | None = None
    q: str | None = None
    overdue: bool | None = None
    mine: bool | None = None
    closed: bool | None = None
    # Waiting for the user: cases assigned to them, and cases nobody handles yet in one of
    # these (workflow, state) pairs (see :func:`waiting_states`).
    waiting: tuple[tuple[str, str], ...] | None = None
    # "queue" (the work queue's order) or "newest" (newest reported first)
    sort: str = "queue"


def _filtered(user: User, f: CaseFilter, grid_path: str | None,
              dialect: str = "sqlite") -> Select[Any]:
    stmt = select(Case).where(visible_clause(user))
    if f.state:
        stmt = stmt.where(Case.state == f.state)
    if f.workflow:
        stmt = stmt.where(Case.workflow == f.workflow)
    if f.category:
        stmt = stmt.where(Case.category == f.category)
    if f.grid:
        # a grid, or any unit above it: the cases of its subtree (an unknown code: none)
        stmt = stmt.where(Case.grid_id.in_(select(OrgUnit.id).where(
            OrgUnit.path.startswith(grid_path or "\0", autoescape=True))))
    if f.q:
        # the text index narrows, the literal LIKE decides (mediation.cases.search)
        like = search.like_any([Case.title, Case.description, Case.case_no, Case.report_no],
                               f.q)
        stmt = stmt.where(search.matches(dialect, f.q, Case.id, like))
    if f.overdue is not None:
        late = Case.is_overdue(utcnow())
        stmt = stmt.where(late if f.overdue else ~late)
    if f.mine:
        stmt = stmt.where(Case.assignee_id == user.id)
    if f.closed is not None:
        stmt = stmt.where(Case.closed_at.is_not(None) if f.closed else Case.closed_at.is_(None))
    if f.waiting is not None:
        unassigned = or_(*(and_(Case.workflow == w, Case.state == s) for w, s in f.waiting)) \
            if f.waiting else false()
        stmt = stmt.where(Case.closed_at.is_(None), or_(
            Case.assignee_id == user.id, and_(Case.assignee_id.is_(None), unassigned)))
    return stmt


def waiting_states(definitions: Iterable[Definition], role: str) -> tuple[tuple[str, str], ...]:
    """The (workflow, state) pairs in which an unhandled case waits for people of ``role``: some
    trigger from the state may be fired by that role alone (a report waits for the grid's
    volunteers, an escalation for the centre's reviewers)."""
    out = []
    for d in definitions:
        for state in d.states:
            if any(t.roles_for(state) == (role,) for t in d.transitions_from(state)):
                out.append((d.name, state))
    return tuple(out)


def list_cases(session: Session, user: User, f: CaseFilter, page: int = 1,
               per_page: int = 20) -> tuple[list[Case], int]:
    """A page of the cases ``user`` sees, and how many there are in all.

    Sorted as a work queue (``f.sort == "queue"``): open before closed, overdue first, then by
    risk (high first), then by the nearest deadline, then newest; or newest reported first
    (``"newest"``, which an index on grid, state and time serves without sorting).
    """
    grid_path = (session.scalar(select(OrgUnit.path).where(OrgUnit.code == f.grid))
                 if f.grid else None)
    stmt = _filtered(user, f, grid_path, session.get_bind().dialect.name)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    risk = case({"high": 0, "medium": 1, "low": 2}, value=Case.risk_level, else_=3)
    order: tuple[Any, ...] = (
        Case.closed_at.is_not(None),
        Case.overdue_at.is_(None),
        risk,
        Case.due_at.is_(None),
        Case.due_at,
        Case.id.desc(),
    )
    if f.sort == "newest":
        order = (Case.created_at.desc(), Case.id.desc())
    # What a page shows of each case, loaded for the whole page at once (not a query a case).
    stmt = stmt.options(selectinload(Case.parties), joinedload(Case.committee))
    rows = session.scalars(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page))
    return list(rows.unique()), total
