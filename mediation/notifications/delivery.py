"""The ``notify`` effect: who a notice goes to (targets named in the definition), what it says
(from the event, in every language), and the channels that carry it.

A definition names a target in an effect, ``{ name = "notify", target = "supervisors" }``, on a
trigger, a rule or a deadline. The outbox runs the effect after the change commits: the target
gives the users (never the person who made the change), the notice is written once in every
language, and every channel sends it: the in-app inbox always; a channel for people outside the
system (the police post today goes to the log, which the deployment's log shipping forwards);
an SMS or dispatch-platform gateway is one more :class:`Channel` given to :func:`add_channel`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Case
from mediation.i18n import N_, Label, Lazy, Msg, msg
from mediation.notifications.models import Notification
from mediation.orgs.models import OrgUnit
from mediation.timeutil import utcnow
from mediation.workflow.definition import Definition
from mediation.workflow.models import Event, OutboxRow
from mediation.workflow.registry import NOTIFY_TARGETS, effect, notify_target

log = logging.getLogger(__name__)

# The org kinds whose members work the cases of the grids below them (DESIGN.md §1).
GRID_KINDS = ("grid", "community")


# -- targets -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Who a target reaches: users of the system, or (``outside``) someone beyond it."""

    name: str
    label: Lazy
    users: Callable[[Session, Case, Definition], list[User]]
    outside: bool = False


TARGETS: dict[str, Target] = {}


def target(name: str, label: Lazy, *, outside: bool = False) -> Callable[..., Any]:
    """Register a target (its users, its name as the pages print it)."""
    def deco(fn: Callable[[Session, Case, Definition], list[User]]) -> Callable[..., Any]:
        TARGETS[name] = Target(name, label, fn, outside)
        return notify_target(name)(fn)
    return deco


def _active(stmt: Any) -> Any:
    return stmt.where(User.active.is_(True)).order_by(User.full_name, User.username)


@target("grid", N_("网格调解员"))
def grid_members(session: Session, case: Case, definition: Definition) -> list[User]:
    """The people of the case's grid and its community (the volunteers who would pick it up)."""
    paths = [u.path for u in (case.grid, case.grid.ancestor("community")) if u is not None]
    return list(session.scalars(_active(select(User).join(User.org_unit).where(
        OrgUnit.path.in_(paths), OrgUnit.kind.in_(GRID_KINDS)))))


@target("handler", N_("承办人"))
def handler(session: Session, case: Case, definition: Definition) -> list[User]:
    """The case's handler; while it has none, the people of its grid."""
    if case.assignee is not None:
        return [case.assignee] if case.assignee.active else []
    return grid_members(session, case, definition)


@target("supervisors", N_("矛调中心审查员"))
def supervisors(session: Session, case: Case, definition: Definition) -> list[User]:
    """The definition's supervisors (reviewers) whose unit contains the case's grid."""
    if definition.supervisor_role is None:
        return []
    return list(session.scalars(_active(select(User).join(User.org_unit).where(
        User.role == definition.supervisor_role, OrgUnit.path.in_(case.grid.lineage())))))


@target("reporter", N_("吹哨人"))
def reporter(session: Session, case: Case, definition: Definition) -> list[User]:
    """Whoever reported the case."""
    return [case.reporter] if case.reporter is not None and case.reporter.active else []


@target("police_post", N_("辖区派出所"), outside=True)
def police_post(session: Session, case: Case, definition: Definition) -> list[User]:
    """The police post of the case's area: outside the system, reached by an outside channel."""
    return []


# -- notices -----------------------------------------------------------------------------------

@dataclass
class Notice:
    """One notice of one event: what it says and to whom."""

    case: Case
    event: Event
    target: Target
    kind: str  # alert | transition | remind | overdue | record
    text: Msg
    recipients: list[User] = field(default_factory=list)


def notice_text(definition: Definition, case: Case, event: Event) -> tuple[str, Msg]:
    """The kind of a notice and its sentence, from the event and the definition's labels; the
    first text the event recorded (a reason, instructions ...) is quoted with its label."""
    data = event.data or {}
    params: dict[str, Any] = {"title": case.title, "no": case.number}
    if data.get("police_notified"):
        return "alert", msg("高风险纠纷已立即上报，并已通报辖区派出所：%(title)s · %(no)s", **params)
    if event.kind in ("remind", "overdue"):
        reason = Label(str(data.get("reason", "")),
                       str(data.get("reason_en") or data.get("reason", "")))
        return event.kind, msg("%(reason)s：%(title)s · %(no)s", reason=reason, **params)
    if event.kind == "transition" and event.name in definition.transitions:
        what: Label | Lazy = definition.transitions[event.name].label
        kind = "transition"
    elif event.kind == "action" and event.name in definition.actions:
        what, kind = definition.actions[event.name].label, "record"
    else:
        what, kind = N_("案件有新的记录"), "record"
    quoted = next(((definition.fields[k].label, v) for k, v in data.items()
                   if k in definition.fields and definition.fields[k].type == "text"
                   and isinstance(v, str) and v), None)
    if quoted is None:
        return kind, msg("%(what)s：%(title)s · %(no)s", what=what, **params)
    return kind, msg("%(what)s：%(title)s · %(no)s。%(label)s：%(quote)s", what=what,
                     label=quoted[0], quote=quoted[1][:200], **params)


class Channel(Protocol):
    """A way to carry notices: the inbox, the log, an SMS or dispatch gateway ..."""

    name: str

    def send(self, session: Session, notice: Notice) -> None:
        """Deliver ``notice`` (to its recipients, or outside when its target is)."""


class InboxChannel:
    """The in-app inbox: one row per recipient, once per event."""

    name = "inbox"

    def send(self, session: Session, notice: Notice) -> None:
        """Write the notice into each recipient's inbox (not twice for one event)."""
        if not notice.recipients:
            return
        have = set(session.scalars(select(Notification.user_id).where(
            Notification.case_id == notice.case.id,
            Notification.event_seq == notice.event.seq,
            Notification.user_id.in_([u.id for u in notice.recipients]))))
        text = notice.text.both()
        for user in notice.recipients:
            if user.id not in have:
                session.add(Notification(user_id=user.id, case_id=notice.case.id,
                                         event_seq=notice.event.seq, kind=notice.kind,
                                         text=text, created_at=utcnow()))
        session.flush()


class OutsideLogChannel:
    """Targets outside the system (the police post): a log line, which the deployment's log
    shipping forwards, until a dispatch gateway is plugged in."""

    name = "log"

    def send(self, session: Session, notice: Notice) -> None:
        """Log a notice whose target is outside the system."""
        if notice.target.outside:
            log.warning("NOTIFY %s: case %s (event %s) %s", notice.target.name, notice.case.id,
                        notice.event.seq, notice.text.render())


CHANNELS: list[Channel] = [InboxChannel(), OutsideLogChannel()]


def add_channel(channel: Channel) -> None:
    """Plug in another channel (an SMS or dispatch gateway); it gets every notice."""
    CHANNELS.append(channel)


def compose(session: Session, definition: Definition, case: Case, event: Event,
            target_name: str) -> Notice:
    """The notice of ``event`` for ``target_name``: its text and recipients (never the person
    whose change it was)."""
    tgt = TARGETS[target_name]
    kind, text = notice_text(definition, case, event)
    recipients = [u for u in tgt.users(session, case, definition) if u.username != event.actor]
    return Notice(case, event, tgt, kind, text, recipients)


def notices_of_creation(session: Session, definition: Definition, case: Case) -> list[Notice]:
    """The notices that the case's creation sent (or queued), with their recipients: the
    report's result page says who was alerted (the centre and the police post for a high-risk
    report)."""
    rows = session.execute(
        select(OutboxRow.payload, Event).join(Event, (Event.case_id == OutboxRow.case_id)
                                              & (Event.seq == OutboxRow.event_seq))
        .where(OutboxRow.case_id == case.id, OutboxRow.effect == "notify",
               Event.at == case.created_at).order_by(OutboxRow.id))
    return [compose(session, definition, case, event, str(payload.get("target")))
            for payload, event in rows if str(payload.get("target")) in TARGETS]


@effect("notify", params=("target",), values={"target": NOTIFY_TARGETS})
def notify(session: Session, row: OutboxRow) -> None:
    """Tell the people the effect's target names about the event that queued it, on every
    channel."""
    from mediation.documents.sources import definitions

    case = session.get(Case, row.case_id)
    event = session.scalar(select(Event).where(Event.case_id == row.case_id,
                                               Event.seq == row.event_seq))
    if case is None or event is None:
        log.warning("notify: outbox row %s names no case event", row.id)
        return
    definition = definitions(session.info.get("runtime")).get(
        session, case.workflow, case.definition_version)
    notice = compose(session, definition, case, event, str(row.payload.get("target")))
    for channel in CHANNELS:
        channel.send(session, notice)
