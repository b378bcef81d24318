"""案件流转记录: the event timeline in plain Chinese.

Triggers, actions, states and fields print the labels of the case's definition. What the engine
records on its own (DESIGN.md §5: creation, agreement drafts, signatures, deadlines, system
notices) is not in a definition: its printed names are here. Internal names, keys and hashes
are never printed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mediation.documents.formatting import (
    RISK_LEVELS,
    SIGN_METHODS,
    SOURCES,
    cn_date,
    cn_datetime,
    cn_number,
    grouped,
    local,
    plain,
    short,
)
from mediation.documents.sources import CaseSources
from mediation.workflow.models import Event

EVENT_KINDS = {"created": "创建", "transition": "流转", "action": "登记事项",
               "agreement": "协议", "signature": "签名", "party": "当事人",
               "remind": "提醒", "overdue": "超期", "system": "系统"}
ENGINE_EVENTS = {("agreement", "save_draft"): "保存协议草稿",
                 ("agreement", "new_version"): "协议签署后修改（新版本）",
                 ("agreement", "void"): "协议因未履行作废",
                 ("party", "update_party"): "修改当事人信息",
                 ("party", "add_party"): "追加当事人",
                 ("signature", "sign"): "协议签署",
                 ("remind", "deadline"): "期限提醒",
                 ("overdue", "deadline"): "办理超期",
                 ("system", "deadline_not_fired"): "期限到期未能自动处理",
                 ("system", "opened_case"): "转立调解案件"}
# What the engine writes into a creation event.
CREATED_FIELDS = {"title": "纠纷名称", "category": "纠纷类别", "source": "纠纷来源",
                  "risk_level": "风险等级", "grid": "所属网格", "parties": "当事人",
                  "origin": "来源案件"}
# Keys the engine adds to transitions and actions: who took the case is the actor or a field;
# deadlines and English texts are not printed.
_SKIPPED = {"assignee", "deadline", "reason_en", "due_at", "case_id"}


def _fieldplain(src: CaseSources, key: str, value: Any) -> str:
    """``label：value`` for a field of the definition, its value printed by its type."""
    label = src.labels.fields[key]
    kind = src.labels.field_types.get(key, "text")
    if kind == "confirm":
        return label if value else f"{label}：否"
    if kind == "user" and isinstance(value, str):
        text = src.person(value)
    elif kind == "date":
        text = cn_date(value if isinstance(value, str | date) else None) or short(value)
    elif kind == "choice":
        text = src.labels.choices.get(key, {}).get(str(value), short(value))
    else:
        text = short(value)
    return f"{label}：{text}"


def _created_summary(src: CaseSources, data: dict[str, Any]) -> list[str]:
    parts = [f"流程：{src.labels.title}"] if src.labels.title else []
    values = {"source": SOURCES.get(str(data.get("source")), ""),
              "risk_level": RISK_LEVELS.get(str(data.get("risk_level")), ""),
              "grid": src.case.grid.name if data.get("grid") == src.case.grid.code else ""}
    for key, label in CREATED_FIELDS.items():
        value = values.get(key, data.get(key))
        if value not in (None, "", [], {}):
            parts.append(f"{label}：{short(value)}")
    return parts


def _signature_summary(data: dict[str, Any], at: datetime) -> list[str]:
    who = "人民调解员" if data.get("signer") == "mediator" else plain(data.get("name"))
    text = f"{who}{SIGN_METHODS.get(str(data.get('method')), '签署')}"
    if data.get("revision"):
        text += f"（协议第{data['revision']}稿）"
    parts = [text]
    signed = data.get("signed_at")
    if isinstance(signed, str):
        try:
            when = datetime.fromisoformat(signed.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            when = None
        if when is not None and abs((when - at).total_seconds()) >= 60:
            parts.append(f"签署时间：{cn_datetime(when)}")
    if data.get("in_force"):
        parts.append("各方签署完毕，协议生效")
    return parts


def _draft_summary(data: dict[str, Any]) -> list[str]:
    parts = []
    if data.get("revision"):
        parts.append(f"第{data['revision']}稿")
    if data.get("terms"):
        parts.append(f"协议条款{data['terms']}项")
    if data.get("copies"):
        parts.append(f"一式{cn_number(int(data['copies']))}份")
    if data.get("voided_signatures"):
        parts.append(f"原有{data['voided_signatures']}个签名作废，须重新签署")
    return ["，".join(parts)] if parts else []


def _event_summary(src: CaseSources, e: Event) -> str:
    """What an event recorded, in words a mediation committee reads: field labels of the
    definition, names of people, Chinese dates; no internal key, no hash."""
    data = e.data or {}
    if e.kind == "created":
        parts = _created_summary(src, data)
    elif e.kind == "signature":
        parts = _signature_summary(data, e.at)
    elif e.kind == "agreement":
        parts = _draft_summary(data)
    else:
        parts = []
        # fields in the order the definition lists them (date, place, people, findings ...)
        order = {name: i for i, name in enumerate(src.labels.fields)}
        for key, value in sorted(data.items(), key=lambda kv: order.get(kv[0], len(order))):
            if key in _SKIPPED or value in (None, "", [], {}):
                continue
            if key in src.labels.fields:
                parts.append(_fieldplain(src, key, value))
            elif key == "reason":  # deadlines and rules give their reason
                parts.append(f"理由：{short(value)}")
            elif key == "police_notified" and value:
                parts.append("已通报辖区派出所")
            elif key == "warnings":
                parts.append(f"回避提示：{short(value)}")
            elif key == "error":
                parts.append(f"原因：{short(value)}")
            elif key == "case_no":
                parts.append(f"案件编号：{short(value)}")
            # any other key is internal: left to the audit trail
    return "；".join(parts)


def _event_what(src: CaseSources, e: Event) -> str:
    if e.kind == "created":
        return "立案登记"
    if e.kind == "transition":
        return src.labels.transitions.get(e.name, "状态变更")
    if e.kind == "action":
        return src.labels.actions.get(e.name, "登记事项")
    return ENGINE_EVENTS.get((e.kind, e.name), EVENT_KINDS.get(e.kind, "系统记录"))


def timeline_context(src: CaseSources) -> dict[str, Any]:
    """Every event in order, with the kind, what happened (labels of the definition), who did
    it, the change of state and what it recorded, all in Chinese; the count, the date of the
    last event and the head of the hash chain."""
    rows = []
    for e in src.events:
        moved = e.kind in ("transition", "created")
        t = local(e.at)
        rows.append({"seq": e.seq, "at": cn_datetime(e.at), "day": cn_date(e.at),
                     "time": f"{t:%H:%M}",
                     "from": src.labels.state(e.from_state) if moved and e.from_state else "",
                     "to": src.labels.state(e.to_state) if moved else "",
                     "kind": EVENT_KINDS.get(e.kind, "系统"), "what": _event_what(src, e),
                     "actor": src.person(e.actor) or "系统",
                     "summary": _event_summary(src, e)})
    last = src.events[-1] if src.events else None
    return {"rows": rows,
            "date": cn_date(last.at) if last else cn_date(src.case.created_at),
            "count": len(rows),
            # The head of the trail's hash chain, short enough to compare by eye.
            "chain_head": grouped(last.hash[:16]) if last else ""}
