"""The statistics of an org unit over a period: one computation, read by ``GET /api/v1/stats``,
the monthly report (mediation.documents.monthly) and the web pages.

They count as the Ministry of Justice's people's mediation statistics do. What a case is and
where it stands comes from the definition it is pinned to, never from state or trigger names:
a **dispute** is a case of a definition that names the states in which the committee accepts
a case for mediation (``accepted_in``); a case of any other definition (the walk-in legal
consultation desk) is a **consultation**, counted apart. A consultation converted into a
dispute is one consultation and one dispute, never two of either.

- **received** (``total``): disputes reported in the period, by source, category, risk level
  and the state they are in now.
- **accepted**: disputes that entered mediation in the period (``accepted_at``: their first
  entry into a state of the definition's ``accepted_in``, when the committee accepted them and
  gave the case number), whenever they were reported; by category and source.
- **closed**: disputes that entered a terminal state in the period, by that state, by its
  outcome (``"closed"`` when the state names none).
- **mediated** (mediations concluded): closed disputes that had been accepted, with the outcome
  ``success``, ``failure`` or ``withdrawn``. A report refused, or withdrawn before acceptance, is
  not a mediation (``not_accepted`` counts them). ``success_rate`` = success / mediated.
- **level** of a mediation: the highest level (``grid`` < ``center`` < ``legal``) of any state
  the case has been in; ``by_level`` counts the mediations concluded.
- **in the community**: settled (success) at level ``grid``, i.e. never taken above the grid;
  ``in_community_rate`` = in the community / mediated, the same figure everywhere it prints.
- **agreements signed**: written agreements that took effect in the period plus oral agreements
  registered in it; **performed**: disputes with a follow-up visit in the period that found the
  agreement ``performed``; **judicial confirmations**: disputes whose application to a court
  was recorded in the period.
- **overdue**: disputes that were past a deadline at some time in the period, by the deadline's
  due time, whenever (or whether) a sweep noticed it: an ``overdue`` limit passed while the case
  was still in that state, or an automatic step (``fire``) still not taken an hour after it was
  due. A case counts once however many deadlines it passed.
- **open at end**: disputes reported before the end of the period and not closed before it.
- **consultations**: consultations registered in the period; ``consultations_by_outcome``
  counts those closed in it by outcome (``converted`` into a dispute, ``closed`` ...).

A period is ``[start, end)`` in naive UTC; a missing start is open, a missing end is ``now``.
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
from mediation.timeutil import utcnow
from mediation.workflow.definition import LEVELS, Definition, Label
from mediation.workflow.models import Deadline, Event, EventKind

# The action recording that the parties applied to a court for judicial confirmation; action
# names are the vocabulary of people's mediation (see mediation.workflow.builtins).
MEDIATED_OUTCOMES = ("success", "failure", "withdrawn")
SUCCESS = "success"
COMMUNITY_LEVEL = LEVELS[0]
NO_OUTCOME = "closed"
# Deadline kinds that make a case overdue once passed (``remind`` only nudges).
OVERDUE_KIND = "overdue"
FIRE_KIND = "fire"
# An automatic step (kind ``fire``) taken within this long of its due time was on time: sweeps
# run every minute in the embedded setup and at least hourly at scale.
SWEEP_GRACE = timedelta(hours=1)
_CHUNK = 500


class Definitions(Protocol):
    """Where pinned definitions come from: the runtime's ``DefinitionStore`` or
    ``mediation.documents.sources.PINNED``."""

    def get(self, session: Session, name: str, version: str) -> Definition:
        """The definition ``name`` at ``version``."""
        ...


def is_dispute(definition: Definition) -> bool:
    """Whether ``definition``'s cases are disputes for mediation: it names the states whose
    entry accepts a case for mediation (``accepted_in``); a consultation's names none."""
    return bool(definition.accepted_in)


@dataclass(frozen=True)
class OverdueCase:
    """A case past a deadline in the period, as a report lists it."""

    case_no: str
    title: str
    state: str  # the state whose deadline passed
    due_at: datetime
    until: datetime | None  # when it left that state (None: still in it)


@dataclass
class Figures:
    """The figures of one org unit over one period (rules in the module docstring)."""

    start: datetime | None = None
    end: datetime | None = None
    received: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    accepted_by_category: dict[str, int] = field(default_factory=dict)
    accepted_by_source: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    closed_by_state: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    mediated: int = 0
    mediated_by_state: dict[str, int] = field(default_factory=dict)
    not_accepted: int = 0
    success: int = 0
    in_community: int = 0
    agreements_signed: int = 0
    agreements_performed: int = 0
    judicial_confirmations: int = 0
    overdue_cases: list[OverdueCase] = field(default_factory=list)
    open_at_end: int = 0
    consultations: int = 0
    consultations_by_outcome: dict[str, int] = field(default_factory=dict)
    # The labels of every state named above, from the definitions of the cases counted.
    state_labels: dict[str, Label] = field(default_factory=dict)

    @property
    def overdue(self) -> int:
        """How many cases were overdue."""
        return len(self.overdue_cases)

    @property
    def success_rate(self) -> float | None:
        """Success / mediated, to four places; None when nothing was mediated."""
        return ratio(self.success, self.mediated)

    @property
    def in_community_rate(self) -> float | None:
        """Settled in the community / mediated, to four places; None when nothing was."""
        return ratio(self.in_community, self.mediated)

    def state_label(self, state: str, lang: str = "zh-CN") -> str:
        """The label of ``state`` in ``lang`` (the name itself if unknown)."""
        label = self.state_labels.get(state)
        return label.get(lang) if label else state

    def as_api(self) -> dict[str, Any]:
        """The body of ``GET /api/v1/stats`` (rules in the module docstring).

        ``total``, ``by_state``, ``by_category``, ``by_source`` and ``by_risk`` count the
        disputes reported in the period; ``accepted`` (with ``accepted_by_*``) those that
        entered mediation in it; ``closed``, ``by_outcome``, ``mediated``, ``success``,
        ``not_accepted``, ``by_level``, ``success_rate`` and ``in_community_rate`` those closed
        in it; ``agreements_*`` and ``judicial_confirmations`` what was recorded in it;
        ``overdue`` the disputes past a deadline in it; ``open_at_end`` those still open at its
        end; ``consultations`` the consultations registered in it.
        """
        return {
            "total": self.received, "accepted": self.accepted, "by_state": self.by_state,
            "by_category": self.by_category,
            "success_rate": self.success_rate, "in_community_rate": self.in_community_rate,
            "overdue": self.overdue, "by_source": self.by_source, "by_risk": self.by_risk,
            "accepted_by_category": self.accepted_by_category,
            "accepted_by_source": self.accepted_by_source,
            "closed": self.closed, "by_outcome": self.by_outcome, "mediated": self.mediated,
            "success": self.success, "not_accepted": self.not_accepted,
            "by_level": self.by_level, "in_community": self.in_community,
            "agreements_signed": self.agreements_signed,
            "agreements_performed": self.agreements_performed,
            "judicial_confirmations": self.judicial_confirmations,
            "open_at_end": self.open_at_end,
            "consultations": self.consultations,
            "consultations_by_outcome": self.consultations_by_outcome,
        }


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` to four places (None when ``whole`` is 0): every rate, everywhere."""
    return round(part / whole, 4) if whole else None


def percent(rate: float | None) -> str:
    """A rate as printed: ``33.33%`` (``—`` for none), from the same four places."""
    return "—" if rate is None else f"{rate * 100:.2f}%"


def local_day_start(day: date) -> datetime:
    """00:00 China time of ``day``, as naive UTC."""
    return datetime.combine(day, time()) - CST


def _between(column: Any, start: datetime | None, end: datetime) -> ColumnElement[bool]:
    clauses = [column.is_not(None), column < end]
    if start is not None:
        clauses.append(column >= start)
    return and_(*clauses)


def _within(value: datetime | None, start: datetime | None, end: datetime) -> bool:
    return value is not None and (start is None or value >= start) and value < end


def case_level(definition: Definition, states: Iterable[str]) -> str | None:
    """The highest level of ``states`` in ``definition`` (None if none has a level)."""
    found = {definition.states[s].level for s in states if s in definition.states}
    ranked = [lv for lv in LEVELS if lv in found]
    return ranked[-1] if ranked else None


def period_figures(session: Session, definitions: Definitions, *, org: OrgUnit,
                   start: datetime | None = None, end: datetime | None = None,
                   user: User | None = None, workflow: str | None = None,
                   now: datetime | None = None) -> Figures:
    """The figures of the cases of ``org``'s subtree over ``[start, end)`` (naive UTC; no end
    is ``now``, and an end past ``now`` counts up to ``now``), limited to what ``user`` sees
    when given and to one ``workflow`` when given."""
    now = now or utcnow()
    end = min(end, now) if end is not None else now
    scope: list[ColumnElement[bool]] = [Case.grid_id.in_(select(OrgUnit.id).where(
        OrgUnit.path.startswith(org.path, autoescape=True)))]
    if user is not None:
        scope.append(visible_clause(user))
    if workflow:
        scope.append(Case.workflow == workflow)
    alive = [*scope, Case.created_at < end]  # cases that existed at some time in the period
    if start is not None:
        alive.append(or_(Case.closed_at.is_(None), Case.closed_at >= start))
    rows = session.execute(
        select(Case.id, func.coalesce(Case.case_no, Case.report_no).label("case_no"),
               Case.title, Case.workflow, Case.definition_version,
               Case.state, Case.category, Case.source, Case.risk_level, Case.created_at,
               Case.closed_at, Case.accepted_at)
        .where(*alive).order_by(Case.created_at, Case.id)).all()
    fig = Figures(start=start, end=end)
    cache: dict[tuple[str, str], Definition] = {}

    def definition_of(row: Any) -> Definition:
        key = (row.workflow, row.definition_version)
        if key not in cache:
            cache[key] = definitions.get(session, *key)
            for s in cache[key].states.values():
                fig.state_labels.setdefault(s.name, s.label)
        return cache[key]

    disputes = [r for r in rows if is_dispute(definition_of(r))]
    consultations = [r for r in rows if not is_dispute(definition_of(r))]
    accepted_at = {r.id: r.accepted_at for r in disputes}

    received = [r for r in disputes if _within(r.created_at, start, end)]
    fig.received = len(received)
    fig.by_source = dict(Counter(r.source for r in received))
    fig.by_category = dict(Counter(r.category for r in received))
    fig.by_risk = dict(Counter(r.risk_level for r in received))
    fig.by_state = dict(Counter(r.state for r in received))

    accepted = [r for r in disputes if _within(accepted_at[r.id], start, end)]
    fig.accepted = len(accepted)
    fig.accepted_by_category = dict(Counter(r.category for r in accepted))
    fig.accepted_by_source = dict(Counter(r.source for r in accepted))

    closed = [r for r in disputes if _within(r.closed_at, start, end)]
    reached = _states_reached(session, [r.id for r in closed])
    closed_by_state: Counter[str] = Counter()
    mediated_by_state: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    for r in closed:
        definition = definition_of(r)
        outcome = definition.states[r.state].outcome or NO_OUTCOME
        closed_by_state[r.state] += 1
        outcomes[outcome] += 1
        if accepted_at[r.id] is None or outcome not in MEDIATED_OUTCOMES:
            fig.not_accepted += accepted_at[r.id] is None
            continue
        fig.mediated += 1
        mediated_by_state[r.state] += 1
        level = case_level(definition, reached.get(r.id, {r.state: r.closed_at}))
        if level is not None:
            levels[level] += 1
        if outcome == SUCCESS:
            fig.success += 1
            fig.in_community += level == COMMUNITY_LEVEL
    fig.closed = len(closed)
    fig.closed_by_state, fig.by_outcome, fig.by_level = (
        dict(closed_by_state), dict(outcomes), dict(levels))
    fig.mediated_by_state = dict(mediated_by_state)
    fig.open_at_end = sum(1 for r in disputes if r.closed_at is None or r.closed_at >= end)

    fig.overdue_cases = _overdue(session, {r.id: r for r in disputes}, start, end)

    fig.consultations = sum(1 for r in consultations if _within(r.created_at, start, end))
    fig.consultations_by_outcome = dict(Counter(
        definition_of(r).states[r.state].outcome or NO_OUTCOME
        for r in consultations if _within(r.closed_at, start, end)))

    _recorded(session, definitions, fig, select(Case.id).where(*scope), start, end)
    return fig


def _recorded(session: Session, definitions: Definitions, fig: Figures, in_scope: Any,
              start: datetime | None, end: datetime) -> None:
    """Agreements, performance and judicial confirmations recorded in the period: the
    actions each case's definition binds to those meanings in its [vocabulary]."""
    written = session.scalar(
        select(func.count(Agreement.id)).where(Agreement.case_id.in_(in_scope),
                                               _between(Agreement.effective_at, start, end)))
    performed: set[int] = set()
    confirmed: set[int] = set()
    oral = 0
    cache: dict[tuple[str, str], Definition] = {}
    for case_id, workflow, version, name, data in session.execute(
            select(Event.case_id, Case.workflow, Case.definition_version, Event.name,
                   Event.data)
            .join(Case, Case.id == Event.case_id)
            .where(Event.case_id.in_(in_scope), Event.kind == EventKind.ACTION,
                   _between(Event.at, start, end))):
        if (workflow, version) not in cache:
            cache[(workflow, version)] = definitions.get(session, workflow, version)
        d = cache[(workflow, version)]
        done = d.choice("performed")
        if name == d.word("follow_up") and done and (data or {}).get(done[0]) == done[1]:
            performed.add(case_id)
        elif name == d.word("judicial_confirmation"):
            confirmed.add(case_id)
        elif name == d.word("oral_agreement"):
            oral += 1
    fig.agreements_signed = (written or 0) + oral
    fig.agreements_performed = len(performed)
    fig.judicial_confirmations = len(confirmed)


def _states_reached(session: Session, case_ids: list[int]) -> dict[int, dict[str, datetime]]:
    """Every state each case has entered, with when it first did, from its trail."""
    reached: dict[int, dict[str, datetime]] = {}
    for i in range(0, len(case_ids), _CHUNK):
        for case_id, to_state, first in session.execute(
                select(Event.case_id, Event.to_state, func.min(Event.at))
                .where(Event.case_id.in_(case_ids[i:i + _CHUNK]),
                       Event.kind.in_(("created", "transition")), Event.to_state.is_not(None))
                .group_by(Event.case_id, Event.to_state)):
            if to_state is not None:
                reached.setdefault(case_id, {})[to_state] = first
    return reached


def _overdue(session: Session, rows: dict[int, Any], start: datetime | None,
             end: datetime) -> list[OverdueCase]:
    """The cases of ``rows`` past a deadline at some time in ``[start, end)``, each once (its
    first deadline passed in the period), in the order of their due times."""
    found: dict[int, OverdueCase] = {}
    ids = list(rows)
    for i in range(0, len(ids), _CHUNK):
        for d in session.scalars(
                select(Deadline)
                .where(Deadline.case_id.in_(ids[i:i + _CHUNK]),
                       Deadline.kind.in_((OVERDUE_KIND, FIRE_KIND)), Deadline.due_at < end)
                .order_by(Deadline.due_at, Deadline.id)):
            if d.kind == FIRE_KIND:
                late_from = d.due_at + SWEEP_GRACE
                left = min((t for t in (d.fired_at, d.cancelled_at) if t is not None),
                           default=None)
            else:
                late_from = d.due_at
                left = d.cancelled_at
            if left is not None and left <= late_from:
                continue  # left the state, or the step was taken, in time
            if late_from >= end or (start is not None and left is not None and left <= start):
                continue  # not late inside the period
            if d.case_id not in found:
                row = rows[d.case_id]
                found[d.case_id] = OverdueCase(row.case_no, row.title, d.state, d.due_at, left)
    return sorted(found.values(), key=lambda c: (c.due_at, c.case_no))


def case_stats(session: Session, definitions: Definitions, *, org: OrgUnit,
               date_from: date | None = None, date_to: date | None = None,
               user: User | None = None, workflow: str | None = None,
               now: datetime | None = None) -> Figures:
    """The figures behind ``GET /api/v1/stats``: ``org``'s subtree from ``date_from`` to
    ``date_to`` (both days included, China time; either may be open), limited to what ``user``
    sees when given. See :meth:`Figures.as_api` for what each key counts."""
    return period_figures(
        session, definitions, org=org, user=user, workflow=workflow, now=now,
        start=local_day_start(date_from) if date_from else None,
        end=local_day_start(date_to + timedelta(days=1)) if date_to else None)
