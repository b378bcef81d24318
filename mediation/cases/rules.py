"""The rules of people's mediation a definition may name: guards (what must hold before a
trigger or action), warnings, facts (dates of the record a date field is compared with) and
deadline anchors. Registered by name; the definition says where each applies.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.cases.agreements import effective_date, gap_label, gaps, unsigned
from mediation.cases.dates import CST, china_date
from mediation.cases.models import Case
from mediation.i18n import N_, Msg, msg
from mediation.workflow.models import Event, EventKind
from mediation.workflow.registry import GuardContext, anchor, fact, guard


def _actions(session: Session, case: Case, action: str, since: datetime | None = None
             ) -> list[tuple[dict[str, Any], datetime]]:
    stmt = select(Event.data, Event.at).where(
        Event.case_id == case.id, Event.kind == EventKind.ACTION, Event.name == action)
    return [(data, at) for data, at in session.execute(stmt.order_by(Event.seq))
            if since is None or at >= since]


def round_started(session: Session, case: Case, definition: Any) -> datetime:
    """When the current round of mediation began: the case's creation, or the last transition
    whose trigger voids the agreement (a breach)."""
    voiding = [t.trigger for t in definition.transitions.values()
               if any(e.name == "void_agreement" for e in t.effects)]
    last = None
    if voiding:
        last = session.scalar(select(Event.at).where(
            Event.case_id == case.id, Event.kind == EventKind.TRANSITION,
            Event.name.in_(voiding)).order_by(Event.seq.desc()).limit(1))
    return last or case.created_at


def _oral_agreement_date(session: Session, case: Case, definition: Any) -> date | None:
    action = definition.word("oral_agreement")
    if action is None:
        return None
    found = _actions(session, case, action, since=round_started(session, case, definition))
    if not found:
        return None
    return date.fromisoformat(str(found[-1][0]["date"]))


@guard("agreement_in_force", needs=("oral_agreement",))
def agreement_in_force(ctx: GuardContext) -> Msg | None:
    """A written agreement of this round in force (complete, signed by every party and the
    mediator, sealed by the committee), or an oral agreement registered in this round."""
    if _oral_agreement_date(ctx.session, ctx.case, ctx.definition) is not None:
        return None
    agreement = ctx.case.agreement
    if agreement is None:
        return msg("尚未制作书面调解协议，也未登记口头协议")
    if agreement.status == "in_force":
        return None
    missing = gaps(agreement)
    if missing:
        return msg("调解协议尚不完整：%(missing)s", missing=gap_label(agreement, missing))
    return msg("以下各方尚未签名或盖章：%(missing)s", missing="、".join(unsigned(agreement)))


@guard("written_agreement_in_force")
def written_agreement_in_force(ctx: GuardContext) -> Msg | None:
    """A written agreement in force (judicial confirmation is for written agreements)."""
    agreement = ctx.case.agreement
    if agreement is None or agreement.status != "in_force":
        return msg("只有已生效的书面调解协议才能申请司法确认")
    return None


@guard("within_days_of_effect", params={"days": True, "field": True})
def within_days_of_effect(ctx: GuardContext) -> Msg | None:
    """The date in ``field`` is at most ``days`` days after the agreement took effect
    (judicial confirmation: 30 days, art. 33). Used as a warning."""
    effective = effective_date(ctx.case)
    value = ctx.data.get(str(ctx.params["field"]))
    if effective is None or not value:
        return None
    limit = effective + timedelta(days=int(ctx.params["days"]))
    if date.fromisoformat(str(value)) > limit:
        return msg("已超过协议生效之日起%(days)s日（%(limit)s）的申请期限",
                   days=int(ctx.params["days"]), limit=limit.isoformat())
    return None


@guard("follow_up_performed", needs=("follow_up", "performed"))
def follow_up_performed(ctx: GuardContext) -> Msg | None:
    """A follow-up visit (the definition's ``follow_up`` action) whose result is what the
    definition calls ``performed``, recorded in the current state."""
    action, performed = ctx.definition.word("follow_up"), ctx.definition.choice("performed")
    if action and performed and any(data.get(performed[0]) == performed[1] for data, _ in
                                    _actions(ctx.session, ctx.case, action,
                                             since=ctx.case.state_entered_at)):
        return None
    return msg("尚未记录结果为“已履行”的回访")


@fact("case_reported", N_("案件登记日"))
def reported(session: Session, case: Case, definition: Any) -> date | None:
    """The day the case was reported (China time)."""
    return china_date(case.created_at)


@fact("agreement_effective", N_("协议生效日"), needs=("oral_agreement",))
def agreement_effective(session: Session, case: Case, definition: Any) -> date | None:
    """The day the agreement of this round took effect: the written one in force, else the
    oral agreement registered in this round."""
    written = effective_date(case)
    if written is not None:
        return written
    return _oral_agreement_date(session, case, definition)


@anchor("last_performance_date")
def last_performance_date(_session: Any, case: Any, now: datetime) -> datetime:
    """The end of the last day by which the agreement is to be performed (China time), or
    entering the state when no date is set (an oral agreement)."""
    agreement = case.agreement
    dates: list[date] = []
    if agreement is not None:
        dates += [t.due_date for t in agreement.terms if t.due_date]
        if agreement.performance_deadline:
            dates.append(agreement.performance_deadline)
    if not dates:
        return now
    return datetime.combine(max(dates), time(23, 59, 59)) - CST
