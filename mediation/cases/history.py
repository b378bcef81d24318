"""A case's events as the case page tells them: what happened (the definition's labels), who,
when, the change of state and what was recorded, in the page's language. Internal names,
hashes and keys are left to the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import CATEGORY_LABELS, RISK_LABELS, SOURCE_LABELS, Case
from mediation.i18n import N_, Label, Lazy
from mediation.workflow.definition import Definition
from mediation.workflow.models import Deadline, Event

SYSTEM = "system"
# What the engine records on its own (not in a definition).
ENGINE_EVENTS: dict[tuple[str, str], Lazy] = {
    ("agreement", "save_draft"): N_("保存协议草稿"),
    ("signature", "sign"): N_("登记签名"),
    ("remind", "deadline"): N_("期限提醒"),
    ("overdue", "deadline"): N_("办理超期"),
    ("system", "deadline_not_fired"): N_("期限到期未能自动处理"),
    ("system", "opened_case"): N_("转立调解案件"),
}
CREATED = N_("吹哨上报")
OTHER = N_("系统记录")
# Words of the keys the engine and rules add to an event's data.
EXTRA_KEYS: dict[str, Lazy] = {
    "reason": N_("理由"), "police_notified": N_("已通报辖区派出所"),
    "warnings": N_("回避提示"), "error": N_("原因"), "case_no": N_("案件编号"),
    "category": N_("纠纷类型"), "risk_level": N_("紧急程度"), "source": N_("来源"),
    "parties": N_("当事人"), "revision": N_("协议稿次"), "terms": N_("协议条款数"),
    "signer_name": N_("签署人"), "method": N_("方式"), "in_force": N_("协议生效"),
}
SKIPPED = {"assignee", "deadline", "reason_en", "due_at", "case_id", "grid", "title", "digest",
           "signer", "signed_at", "copies", "voided_signatures"}
SIGN_WORDS = {"signature": N_("签名"), "seal": N_("盖章"), "fingerprint": N_("按指印")}
YES = N_("是")


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime
    what: str
    actor: str
    from_state: str = ""
    to_state: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    system: bool = False


def _names(session: Session, events: list[Event]) -> dict[str, str]:
    usernames = {e.actor for e in events}
    for e in events:
        for key in ("assignee", "mediator", "lawyer", "to"):
            if isinstance((e.data or {}).get(key), str):
                usernames.add(e.data[key])
    return {u.username: u.display_name for u in session.scalars(
        select(User).where(User.username.in_(usernames)))}


def _value(definition: Definition, key: str, value: Any, names: dict[str, str],
           lang: str) -> str:
    fd = definition.fields.get(key)
    if fd is not None:
        if fd.type == "confirm":
            return YES.get(lang) if value else ""
        if fd.type == "user" and isinstance(value, str):
            return names.get(value, value)
        if fd.type == "choice" and str(value) in fd.choice_labels:
            return fd.choice_labels[str(value)].get(lang)
    if key == "category":
        return CATEGORY_LABELS[value].get(lang) if value in CATEGORY_LABELS else str(value)
    if key == "risk_level":
        return RISK_LABELS[value].get(lang) if value in RISK_LABELS else str(value)
    if key == "source":
        return SOURCE_LABELS[value].get(lang) if value in SOURCE_LABELS else str(value)
    if key == "method" and value in SIGN_WORDS:
        return SIGN_WORDS[value].get(lang)
    if isinstance(value, bool):
        return YES.get(lang) if value else ""
    if isinstance(value, list):
        return "、".join(str(v) if not isinstance(v, dict) else
                        str(v.get(lang) or v.get("zh-CN") or "") for v in value)
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh-CN") or "")
    return str(value)


def _details(definition: Definition, event: Event, names: dict[str, str],
             lang: str) -> list[tuple[str, str]]:
    data = dict(event.data or {})
    if event.kind in ("remind", "overdue") and lang == "en" and data.get("reason_en"):
        data["reason"] = data["reason_en"]
    if event.kind == "signature":
        data["signer_name"] = data.pop("name", "")
    order = {name: i for i, name in enumerate(definition.fields)}
    out = []
    for key, value in sorted(data.items(), key=lambda kv: order.get(kv[0], len(order))):
        if key in SKIPPED or value in (None, "", [], {}, False):
            continue
        label: Label | Lazy | None = (definition.fields[key].label if key in definition.fields
                                      else EXTRA_KEYS.get(key))
        text = _value(definition, key, value, names, lang)
        if label is not None and text:
            out.append((label.get(lang), text))
    return out


def _what(definition: Definition, event: Event) -> Label | Lazy:
    if event.kind == "created":
        return CREATED
    if event.kind == "transition" and event.name in definition.transitions:
        return definition.transitions[event.name].label
    if event.kind == "action" and event.name in definition.actions:
        return definition.actions[event.name].label
    return ENGINE_EVENTS.get((event.kind, event.name), OTHER)


def timeline(session: Session, definition: Definition, case: Case, lang: str,
             system_name: str) -> list[Entry]:
    """The case's events, newest first, told in ``lang``."""
    events = list(session.scalars(select(Event).where(Event.case_id == case.id)
                                  .order_by(Event.seq.desc())))
    names = _names(session, events)
    out = []
    for e in events:
        moved = e.kind in ("transition", "created")
        out.append(Entry(
            at=e.at, what=_what(definition, e).get(lang),
            actor=system_name if e.actor == SYSTEM else names.get(e.actor, e.actor),
            from_state=(definition.state(e.from_state).label.get(lang)
                        if moved and e.from_state in definition.states else ""),
            to_state=(definition.state(e.to_state).label.get(lang)
                      if moved and e.to_state in definition.states else ""),
            details=_details(definition, e, names, lang), system=e.actor == SYSTEM))
    return out


@dataclass
class Due:
    """A pending deadline and what happens when it passes."""

    at: datetime
    kind: str
    what: str
    overdue: bool


DEADLINE_WORDS = {"remind": N_("到时提醒"), "fire": N_("到时系统自动处理"),
                  "overdue": N_("到时标记为超期")}


def deadlines(session: Session, definition: Definition, case: Case, lang: str,
              now: datetime) -> list[Due]:
    """The case's pending deadlines, soonest first, each with what happens when it passes."""
    rows = session.scalars(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.fired_at.is_(None),
        Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at))
    out = []
    for d in rows:
        reason = d.reason_en if lang == "en" and d.reason_en else d.reason
        head = DEADLINE_WORDS.get(d.kind, DEADLINE_WORDS["remind"]).get(lang)
        out.append(Due(d.due_at, d.kind, f"{head}：{reason}" if lang != "en" else
                       f"{head}: {reason}", d.due_at < now))
    return out
