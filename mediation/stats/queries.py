"""The statistics of an org unit over a period: one computation, read by ``GET /api/v1/stats``,
the monthly report (mediation.documents.monthly) and the web pages.

Outcomes and levels come from the definition each case is pinned to (``StateDef.outcome`` of
terminal states, ``StateDef.level`` of states), never from state or trigger names. The rules:

- **received**: cases created in the period, counted by source, category, risk level and the
  state they are in now.
- **closed**: cases that entered a terminal state in the period (``closed_at``), counted by that
  state, by its outcome (``"closed"`` when the state names none) and by level.
- **level** of a case: the highest level (``grid`` < ``center`` < ``legal``) of any state it has
  been in; a case none of whose states has a level has none (it is left out of ``by_level``).
- **mediated**: closed with the outcome ``success``, ``failure`` or ``withdrawn`` (a case not
  accepted for mediation is not counted); ``success_rate`` = success / mediated.
- **in the community**: closed with success at level ``grid``, i.e. never taken above the grid;
  ``in_community_rate`` = in the community / mediated.
- **agreements signed**: written agreements that took effect in the period plus oral agreements
  registered in the period; **performed**: cases with a follow-up visit recorded in the period
  whose result is ``performed``; **judicial confirmations**: cases with a judicial confirmation
  recorded in the period.
- **overdue**: cases flagged overdue (an ``overdue`` deadline fired) before the end of the period
  and still flagged; the engine clears the flag when a case leaves the state, so a closed case is
  never overdue.
- **open at end**: created before the end of the period and not closed before it.

A period is ``[start, end)`` in naive UTC; a missing bound leaves that side open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Agreement, Case
from mediation.cases.numbering import CST
from mediation.cases.permissions import visible_clause
from mediation.orgs.models import OrgUnit
from mediation.workflow.builtins import FOLLOW_UP, ORAL_AGREEMENT, PERFORMED
from mediation.workflow.definition import LEVELS, Definition, Label
from mediation.workflow.models import Event

# The action recording that the parties applied to a court for judicial confirmation; action
# names are the vocabulary of people's mediation (see mediation.workflow.builtins).
JUDICIAL_CONFIRMATION = "record_judicial_confirmation"
MEDIATED_OUTCOMES = ("success", "failure", "withdrawn")
SUCCESS = "success"
COMMUNITY_LEVEL = LEVELS[0]
NO_OUTCOME = "closed"
_CHUNK = 500


class Definitions(Protocol):
    """Where pinned definitions come from: the runtime's ``DefinitionStore`` or
    ``mediation.documents.contexts.PINNED``."""

    def get(self, session: Session, name: str, version: str) -> Definition:
        """The definition ``name`` at ``version``."""
        ...


@dataclass(frozen=True)
class OverdueCase:
    """A case flagged overdue, as a report lists it."""

    case_no: str
    title: str
    state: str


@dataclass
class Figures:
    """The figures of one org unit over one period (rules in the module docstring)."""

    received: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    closed_by_state: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    mediated: int = 0
    success: int = 0
    in_community: int = 0
    agreements_signed: int = 0
    agreements_performed: int = 0
    judicial_confirmations: int = 0
    overdue_cases: list[OverdueCase] = field(default_factory=list)
    open_at_end: int = 0
    # The labels of every state named above, from the definitions of the cases counted.
    state_labels: dict[str, Label] = field(default_factory=dict)

    @property
    def overdue(self) -> int:
        """How many cases are overdue."""
        return len(self.overdue_cases)

    @property
    def success_rate(self) -> float | None:
        """Success / mediated, to four places; None when nothing was mediated."""
        return round(self.success / self.mediated, 4) if self.mediated else None

    @property
    def in_community_rate(self) -> float | None:
        """Settled in the community / mediated, to four places; None when nothing was."""
        return round(self.in_community / self.mediated, 4) if self.mediated else None

    def state_label(self, state: str, lang: str = "zh-CN") -> str:
        """The label of ``state`` in ``lang`` (the name itself if unknown)."""
        label = self.state_labels.get(state)
        return label.get(lang) if label else state

    def as_api(self) -> dict[str, Any]:
        """The body of ``GET /api/v1/stats``.

        ``total``, ``by_state``, ``by_category``, ``by_source`` and ``by_risk`` count the cases
        received in the period; ``closed``, ``by_outcome``, ``by_level``, ``success_rate`` and
        ``in_community_rate`` the cases closed in it; ``agreements_*`` and
        ``judicial_confirmations`` what was recorded in it; ``overdue`` the cases flagged overdue
        before its end; ``open_at_end`` the cases still open at its end.
        """
        return {
            "total": self.received, "by_state": self.by_state, "by_category": self.by_category,
            "success_rate": self.success_rate, "in_community_rate": self.in_community_rate,
            "overdue": self.overdue, "by_source": self.by_source, "by_risk": self.by_risk,
            "by_level": self.by_level, "by_outcome": self.by_outcome, "closed": self.closed,
            "agreements_signed": self.agreements_signed,
            "agreements_performed": self.agreements_performed,
            "judicial_confirmations": self.judicial_confirmations,
            "open_at_end": self.open_at_end,
        }


def local_day_start(day: date) -> datetime:
    """00:00 China time of ``day``, as naive UTC."""
    return datetime.combine(day, time()) - CST


def _between(column: Any, start: datetime | None, end: datetime | None) -> ColumnElement[bool]:
    clauses = [column.is_not(None)]
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column < end)
    return and_(*clauses)


def _within(value: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    return (value is not None and (start is None or value >= start)
            and (end is None or value < end))


def case_level(definition: Definition, states: Iterable[str]) -> str | None:
    """The highest level of ``states`` in ``definition`` (None if none has a level)."""
    found = {definition.states[s].level for s in states if s in definition.states}
    ranked = [lv for lv in LEVELS if lv in found]
    return ranked[-1] if ranked else None


def period_figures(session: Session, definitions: Definitions, *, org: OrgUnit,
                   start: datetime | None = None, end: datetime | None = None,
                   user: User | None = None, workflow: str | None = None) -> Figures:
    """The figures of the cases of ``org``'s subtree over ``[start, end)`` (naive UTC), limited
    to what ``user`` sees when given and to one ``workflow`` when given."""
    scope: list[ColumnElement[bool]] = [Case.grid_id.in_(select(OrgUnit.id).where(
        OrgUnit.path.startswith(org.path, autoescape=True)))]
    if user is not None:
        scope.append(visible_clause(user))
    if workflow:
        scope.append(Case.workflow == workflow)
    alive = list(scope)  # cases that existed at some time in the period
    if end is not None:
        alive.append(Case.created_at < end)
    if start is not None:
        alive.append(or_(Case.closed_at.is_(None), Case.closed_at >= start))
    rows = session.execute(
        select(Case.id, func.coalesce(Case.case_no, Case.report_no).label("case_no"),
               Case.title, Case.workflow, Case.definition_version,
               Case.state, Case.category, Case.source, Case.risk_level, Case.created_at,
               Case.closed_at, Case.overdue_at)
        .where(*alive).order_by(Case.id)).all()
    fig = Figures()
    received: list[Any] = []
    closed: list[Any] = []
    cache: dict[tuple[str, str], Definition] = {}

    def definition_of(row: Any) -> Definition:
        key = (row.workflow, row.definition_version)
        if key not in cache:
            cache[key] = definitions.get(session, *key)
            for s in cache[key].states.values():
                fig.state_labels[s.name] = s.label
        return cache[key]

    for row in rows:
        definition_of(row)
        if _within(row.created_at, start, end):
            received.append(row)
        if _within(row.closed_at, start, end):
            closed.append(row)
        if row.closed_at is None or (end is not None and row.closed_at >= end):
            fig.open_at_end += 1  # created before the end: every row is
        if row.overdue_at is not None and (end is None or row.overdue_at < end):
            fig.overdue_cases.append(OverdueCase(row.case_no, row.title, row.state))

    fig.received = len(received)
    fig.by_source = dict(Counter(r.source for r in received))
    fig.by_category = dict(Counter(r.category for r in received))
    fig.by_risk = dict(Counter(r.risk_level for r in received))
    fig.by_state = dict(Counter(r.state for r in received))

    reached = _states_reached(session, [r.id for r in closed])
    closed_by_state: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    for r in closed:
        definition = definition_of(r)
        outcome = definition.states[r.state].outcome or NO_OUTCOME
        level = case_level(definition, reached.get(r.id, [r.state]))
        closed_by_state[r.state] += 1
        outcomes[outcome] += 1
        if level is not None:
            levels[level] += 1
        if outcome in MEDIATED_OUTCOMES:
            fig.mediated += 1
            if outcome == SUCCESS:
                fig.success += 1
                fig.in_community += level == COMMUNITY_LEVEL
    fig.closed = len(closed)
    fig.closed_by_state, fig.by_outcome, fig.by_level = (
        dict(closed_by_state), dict(outcomes), dict(levels))

    in_scope = select(Case.id).where(*scope)
    written = session.scalar(
        select(func.count(Agreement.id)).where(Agreement.case_id.in_(in_scope),
                                               _between(Agreement.effective_at, start, end)))
    performed: set[int] = set()
    confirmed: set[int] = set()
    oral = 0
    for case_id, name, data in session.execute(
            select(Event.case_id, Event.name, Event.data)
            .where(Event.case_id.in_(in_scope), Event.kind == "action",
                   Event.name.in_((FOLLOW_UP, JUDICIAL_CONFIRMATION, ORAL_AGREEMENT)),
                   _between(Event.at, start, end))):
        if name == FOLLOW_UP and (data or {}).get("result") == PERFORMED:
            performed.add(case_id)
        elif name == JUDICIAL_CONFIRMATION:
            confirmed.add(case_id)
        elif name == ORAL_AGREEMENT:
            oral += 1
    fig.agreements_signed = (written or 0) + oral
    fig.agreements_performed = len(performed)
    fig.judicial_confirmations = len(confirmed)
    return fig


def _states_reached(session: Session, case_ids: list[int]) -> dict[int, list[str]]:
    """Every state each case has entered, from its trail."""
    reached: dict[int, list[str]] = {}
    for i in range(0, len(case_ids), _CHUNK):
        for case_id, to_state in session.execute(
                select(Event.case_id, Event.to_state)
                .where(Event.case_id.in_(case_ids[i:i + _CHUNK]),
                       Event.kind.in_(("created", "transition")), Event.to_state.is_not(None))):
            if to_state is not None:
                reached.setdefault(case_id, []).append(to_state)
    return reached


def case_stats(session: Session, definitions: Definitions, *, org: OrgUnit,
               date_from: date | None = None, date_to: date | None = None,
               user: User | None = None, workflow: str | None = None) -> Figures:
    """The figures behind ``GET /api/v1/stats``: ``org``'s subtree from ``date_from`` to
    ``date_to`` (both days included, China time; either may be open), limited to what ``user``
    sees when given. See :meth:`Figures.as_api` for what each key counts."""
    return period_figures(
        session, definitions, org=org, user=user, workflow=workflow,
        start=local_day_start(date_from) if date_from else None,
        end=local_day_start(date_to + timedelta(days=1)) if date_to else None)
