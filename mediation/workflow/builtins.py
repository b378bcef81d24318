"""The built-in guards, deadline anchors and field types a definition may name."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select

from mediation.auth.models import ROLE_LABELS, User
from mediation.cases.models import Agreement
from mediation.cases.numbering import CST
from mediation.i18n import N_, Label, Msg, msg
from mediation.timeutil import parse_iso, utcnow
from mediation.workflow.definition import FieldDef
from mediation.workflow.models import Event
from mediation.workflow.registry import FieldContext, GuardContext, anchor, field_type, guard

# The actions these guards look for. Action names, like the guards themselves, are the
# vocabulary of people's mediation (DESIGN.md §2); states and triggers stay in the definition.
ORAL_AGREEMENT = "register_oral_agreement"
FOLLOW_UP = "record_follow_up"
PERFORMED = "performed"

TEXT_MAX = 5000
NAMES_MAX = 50


def agreement_gaps(agreement: Agreement) -> list[str]:
    """What a written agreement still lacks before it can be signed (人民调解法 art. 29)."""
    gaps = []
    if not agreement.facts.strip():
        gaps.append("facts")
    if not agreement.dispute_matters.strip():
        gaps.append("dispute_matters")
    if not agreement.responsibilities.strip():
        gaps.append("responsibilities")
    if not agreement.terms:
        gaps.append("terms")
    if not agreement.performance_method.strip():
        gaps.append("performance_method")
    return gaps


def missing_signers(agreement: Agreement) -> list[str]:
    """Names of the parties (and the mediator) who have not signed yet."""
    signed = {s.signer for s in agreement.signatures}
    missing = [p.name for p in agreement.case.parties if str(p.id) not in signed]
    if "mediator" not in signed:
        missing.append("调解员")
    return missing


def _has_action(ctx: GuardContext, action: str, since: datetime | None = None,
                **data: Any) -> bool:
    stmt = select(Event.data, Event.at).where(
        Event.case_id == ctx.case.id, Event.kind == "action", Event.name == action)
    for ev_data, at in ctx.session.execute(stmt):
        if since is not None and at < since:
            continue
        if all(ev_data.get(k) == v for k, v in data.items()):
            return True
    return False


AGREEMENT_PARTS = {"facts": N_("纠纷主要事实"),
                   "dispute_matters": N_("争议事项"),
                   "responsibilities": N_("各方当事人的责任"),
                   "terms": N_("协议条款"),
                   "performance_method": N_("履行方式")}


def round_started(ctx: GuardContext) -> datetime:
    """When the current round of mediation began: the case's creation, or the last transition
    whose trigger voids the agreement (a breach)."""
    voiding = [t.trigger for t in ctx.definition.transitions.values()
               if any(e.name == "void_agreement" for e in t.effects)]
    last = None
    if voiding:
        last = ctx.session.scalar(select(Event.at).where(
            Event.case_id == ctx.case.id, Event.kind == "transition", Event.name.in_(voiding))
            .order_by(Event.seq.desc()).limit(1))
    return last or ctx.case.created_at


@guard("agreement_in_force")
def agreement_in_force(ctx: GuardContext) -> Any:
    """A written agreement of this round, complete and signed by every party and the
    mediator, or an oral agreement registered in this round."""
    if _has_action(ctx, ORAL_AGREEMENT, since=round_started(ctx)):
        return None
    agreement = ctx.case.agreement
    if agreement is None:
        return msg("尚未制作书面调解协议，也未登记口头协议")
    gaps = agreement_gaps(agreement)
    if gaps:
        parts = [AGREEMENT_PARTS[g] for g in gaps]
        return msg("调解协议尚不完整：%(missing)s", missing=Label(
            "、".join(p.zh for p in parts), ", ".join(p.en for p in parts)))
    missing = missing_signers(agreement)
    if missing:
        return msg("以下各方尚未签名：%(missing)s", missing="、".join(missing))
    return None


@guard("follow_up_performed")
def follow_up_performed(ctx: GuardContext) -> Any:
    """A follow-up visit with the result ``performed`` recorded in the current state."""
    if _has_action(ctx, FOLLOW_UP, since=ctx.case.state_entered_at, result=PERFORMED):
        return None
    return msg("尚未记录结果为“已履行”的回访")


@anchor("entered")
def entered(_session: Any, _case: Any, now: datetime) -> datetime:
    """Deadlines count from entering the state."""
    return now


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


def _bad(reason: Msg) -> ValueError:
    return ValueError(reason)


@field_type("text")
def text_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """A non-blank text of at most 5000 characters."""
    if not isinstance(value, str):
        raise _bad(msg("格式不正确，应为%(expected)s", expected=N_("文本")))
    value = value.strip()
    if not value:
        raise _bad(msg("不能为空"))
    if len(value) > TEXT_MAX:
        raise _bad(msg("长度不能超过%(max)s个字符", max=TEXT_MAX))
    return value


@field_type("date")
def date_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """An ISO 8601 date (a date-time is cut to its date); stored as ``YYYY-MM-DD``."""
    if not isinstance(value, str):
        raise _bad(msg("日期格式不正确（应为 YYYY-MM-DD）"))
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        try:
            day = parse_iso(value.strip()).date()
        except ValueError:
            raise _bad(msg("日期格式不正确（应为 YYYY-MM-DD）")) from None
    # Every date a record asks for is of something that happened (a visit, a session, an
    # application to court): not later than today in China.
    if day > (utcnow() + CST).date():
        raise _bad(msg("日期不能晚于今天"))
    return day.isoformat()


@field_type("confirm")
def confirm_field(value: Any, fd: FieldDef, ctx: FieldContext) -> bool:
    """Must be JSON ``true``."""
    if value is not True:
        raise _bad(msg("必须确认"))
    return True


@field_type("choice")
def choice_field(value: Any, fd: FieldDef, ctx: FieldContext) -> str:
    """One of the field's ``choices``."""
    if not isinstance(value, str) or value not in fd.choices:
        named = [f"{c}（{fd.choice_labels[c].zh}）" if c in fd.choice_labels else c
                 for c in fd.choices]
        raise _bad(msg("取值无效，可选：%(choices)s", choices=Label("、".join(named), ", ".join(fd.choices))))
    return value


@field_type("names")
def names_field(value: Any, fd: FieldDef, ctx: FieldContext) -> list[str]:
    """A list of names (a single text is split on 、，, and spaces)."""
    if isinstance(value, str):
        import re

        value = [v for v in re.split(r"[、，,;；\s]+", value) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(msg("应为列表"))
    names = [v.strip() for v in value if v.strip()]
    if len(names) > NAMES_MAX:
        raise _bad(msg("最多%(max)s项", max=NAMES_MAX))
    if any(len(n) > 100 for n in names):
        raise _bad(msg("长度不能超过%(max)s个字符", max=100))
    return names


def user_candidates(session: Any, fd: FieldDef, case: Any) -> list[User]:
    """Every user a ``user`` field of ``case`` accepts (active, of the field's role if it names
    one, in a unit that serves the case's grid), by name: what a picker lists."""
    from mediation.orgs.models import OrgUnit

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
    user = ctx.session.scalar(select(User).where(User.username == value.strip()))
    if user is None or not user.active:
        raise _bad(msg("用户“%(username)s”不存在", username=value))
    if fd.role and user.role != fd.role:
        raise _bad(msg("用户“%(username)s”不是%(role)s",
                       username=value, role=ROLE_LABELS.get(fd.role, fd.role)))
    if ctx.case is not None and user.org_unit.path not in ctx.case.grid.lineage():
        raise _bad(msg("用户“%(username)s”不在本案件所属辖区", username=value))
    return user.username
