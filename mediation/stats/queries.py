"""Counts for statistics (API /api/v1/stats, the monthly report, the web pages).

Outcomes and levels come from the definitions (``outcome`` of terminal states, ``level`` of
states), not from state names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Case
from mediation.cases.numbering import CST
from mediation.cases.permissions import visible_clause
from mediation.orgs.models import OrgUnit
from mediation.timeutil import utcnow
from mediation.workflow.models import Event
from mediation.workflow.store import DefinitionStore

LEVEL_ORDER = {"grid": 0, "center": 1, "legal": 2}
MEDIATED_OUTCOMES = ("success", "failure", "withdrawn")


@dataclass
class Stats:
    """The figures of one org unit over one period."""

    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    success_rate: float | None = None
    in_community_rate: float | None = None
    overdue: int = 0
    agreements_performed: int = 0
    judicial_confirmations: int = 0

    def as_api(self) -> dict[str, Any]:
        """The shape of ``GET /api/v1/stats`` (and more)."""
        return {
            "total": self.total, "by_state": self.by_state, "by_category": self.by_category,
            "success_rate": self.success_rate, "in_community_rate": self.in_community_rate,
            "overdue": self.overdue, "by_source": self.by_source, "by_risk": self.by_risk,
            "by_level": self.by_level, "by_outcome": self.by_outcome, "closed": self.closed,
            "agreements_performed": self.agreements_performed,
            "judicial_confirmations": self.judicial_confirmations,
        }


def local_day_start(day: date) -> datetime:
    """00:00 China time of ``day``, as naive UTC."""
    return datetime.combine(day, time()) - CST


def case_stats(session: Session, store: DefinitionStore, *, org: OrgUnit,
               date_from: date | None = None, date_to: date | None = None,
               user: User | None = None, workflow: str | None = None) -> Stats:
    """Figures for the cases of ``org``'s subtree created from ``date_from`` to ``date_to``
    (both included, China time), limited to what ``user`` sees when given."""
    stmt = select(Case).join(OrgUnit, Case.grid_id == OrgUnit.id).where(
        OrgUnit.path.startswith(org.path, autoescape=True))
    if user is not None:
        stmt = stmt.where(visible_clause(user))
    if workflow:
        stmt = stmt.where(Case.workflow == workflow)
    if date_from:
        stmt = stmt.where(Case.created_at >= local_day_start(date_from))
    if date_to:
        stmt = stmt.where(Case.created_at < local_day_start(date_to + timedelta(days=1)))
    cases = list(session.scalars(stmt))
    stats = Stats(total=len(cases))
    if not cases:
        return stats
    ids = [c.id for c in cases]
    reached: dict[int, list[str]] = {}
    performed: set[int] = set()
    confirmed: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for case_id, kind, name, to_state, data in session.execute(
                select(Event.case_id, Event.kind, Event.name, Event.to_state, Event.data)
                .where(Event.case_id.in_(chunk))):
            if kind in ("transition", "created") and to_state:
                reached.setdefault(case_id, []).append(to_state)
            if kind == "action" and name == "record_follow_up" and data.get("result") == "performed":
                performed.add(case_id)
            if kind == "action" and name == "record_judicial_confirmation":
                confirmed.add(case_id)
    now = utcnow()
    states, cats, sources, risks, levels, outcomes = (Counter[str]() for _ in range(6))
    mediated = success = in_community = 0
    for c in cases:
        definition = store.get(session, c.workflow, c.definition_version)
        states[c.state] += 1
        cats[c.category] += 1
        sources[c.source] += 1
        risks[c.risk_level] += 1
        top = max((definition.states[s].level for s in reached.get(c.id, [c.state])
                   if s in definition.states and definition.states[s].level),
                  key=lambda lv: LEVEL_ORDER.get(lv or "", -1), default=None)
        if top:
            levels[top] += 1
        st = definition.states[c.state]
        if st.terminal:
            stats.closed += 1
            outcomes[st.outcome or "closed"] += 1
            if st.outcome in MEDIATED_OUTCOMES:
                mediated += 1
                success += st.outcome == "success"
                in_community += top == "grid"
        elif c.overdue_at is not None or (c.due_at is not None and c.due_at < now):
            stats.overdue += 1
    stats.by_state, stats.by_category = dict(states), dict(cats)
    stats.by_source, stats.by_risk = dict(sources), dict(risks)
    stats.by_level, stats.by_outcome = dict(levels), dict(outcomes)
    if mediated:
        stats.success_rate = round(success / mediated, 4)
        stats.in_community_rate = round(in_community / mediated, 4)
    stats.agreements_performed = len(performed)
    stats.judicial_confirmations = len(confirmed)
    return stats
