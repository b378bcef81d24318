"""The monthly statistics report of an org unit (`mediation report monthly`).

Counts for the cases of the unit's subtree: received in the month by source, category and risk;
closed in the month by outcome and by the level that settled them; success rate, agreements
signed and performed, judicial confirmations, disputes settled inside the community, overdue.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.cases.models import Case
from mediation.documents.catalogue import catalogue
from mediation.documents.contexts import CST, SOURCES, WorkflowLabels, workflow_labels
from mediation.documents.render import renderer
from mediation.errors import FieldError, NotFound, ValidationFailed
from mediation.i18n import msg
from mediation.orgs.models import OrgUnit
from mediation.stats.charts import bar_chart, donut_chart
from mediation.workflow.models import Event

KIND_LABELS = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}
RISK_LABELS = {"low": "低风险", "medium": "中风险", "high": "高风险"}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_range(month: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` in China time, as naive UTC ``[start, end)``."""
    match = _MONTH.match(month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed(errors=[FieldError("month", msg("invalid_month"))])
    year, mon = int(match.group(1)), int(match.group(2))
    start = datetime(year, mon, 1)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1)
    return start - CST, end - CST


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def monthly_context(session: Session, org: OrgUnit, month: str) -> dict[str, Any]:
    """The figures, tables and charts of ``org``'s report for ``month`` (``YYYY-MM``)."""
    start, end = month_range(month)
    settings = catalogue().reports.get("monthly", {})
    levels: dict[str, str] = dict(settings.get("levels", {}))
    counts = dict(settings.get("counts", {}))
    in_unit = select(OrgUnit.id).where(OrgUnit.path.like(f"{org.path}%"))
    cases = list(session.scalars(select(Case).where(Case.grid_id.in_(in_unit))))
    by_id = {c.id: c for c in cases}
    labels: dict[tuple[str, str], WorkflowLabels] = {}

    def labels_of(case: Case) -> WorkflowLabels:
        key = (case.workflow, case.definition_version)
        if key not in labels:
            labels[key] = workflow_labels(session, *key)
        return labels[key]

    received = [c for c in cases if start <= c.created_at < end]
    closed = [c for c in cases if c.closed_at is not None and start <= c.closed_at < end]
    ids = list(by_id)
    events = list(session.scalars(
        select(Event).where(Event.case_id.in_(ids), Event.kind.in_(("transition", "action")))
        .order_by(Event.case_id, Event.seq))) if ids else []
    reached: dict[int, list[str]] = {}
    month_names: Counter[str] = Counter()
    for e in events:
        if e.kind == "transition" and e.to_state in levels:
            reached.setdefault(e.case_id, []).append(e.to_state)
        if start <= e.at < end:
            month_names[f"{e.kind}:{e.name}"] += 1
    level_order = list(levels)

    def level_of(case: Case) -> str:
        states = reached.get(case.id, [])
        if not states:
            return "未进入调解"
        return levels[max(states, key=level_order.index)]

    outcome_of: dict[int, str] = {c.id: labels_of(c).outcomes.get(c.state, "") for c in closed}
    success = [c for c in closed if outcome_of[c.id] == "success"]
    mediated = [c for c in closed if outcome_of[c.id] in ("success", "failure", "withdrawn")]
    first_level = levels[level_order[0]] if level_order else ""
    in_community = [c for c in success if level_of(c) == first_level]
    overdue = [c for c in cases if c.overdue_at is not None and c.overdue_at < end
               and (c.closed_at is None or c.closed_at >= start)]

    by_source = Counter(SOURCES.get(c.source, c.source) for c in received)
    by_category = Counter(c.category for c in received)
    by_risk = Counter(RISK_LABELS.get(c.risk_level, c.risk_level) for c in received)
    by_outcome = Counter(labels_of(c).state(c.state) for c in closed)
    by_level = Counter(level_of(c) for c in closed)
    signed = month_names[f"transition:{counts.get('agreement_trigger', '')}"]
    performed = month_names[f"transition:{counts.get('performed_trigger', '')}"]
    confirmations = month_names[f"action:{counts.get('confirmation_action', '')}"]
    open_at_end = sum(1 for c in cases if c.created_at < end
                      and (c.closed_at is None or c.closed_at >= end))

    def rows(counter: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

    year, mon = month[:4], int(month[5:])
    last_day = (end + CST - timedelta(days=1)).day
    kpis = [
        ("本月受理", len(received), "件"), ("本月结案", len(closed), "件"),
        ("调解成功率", _pct(len(success), len(mediated)), ""),
        ("达成协议", signed, "份"), ("协议履行完毕", performed, "件"),
        ("申请司法确认", confirmations, "件"),
        ("社区内化解", len(in_community), f"件（{_pct(len(in_community), len(success))}）"),
        ("超期案件", len(overdue), "件"), ("月末在办", open_at_end, "件"),
    ]
    return {
        "org": org.name, "org_kind": KIND_LABELS.get(org.kind, org.kind), "org_code": org.code,
        "month": month, "period": f"{year}年{mon}月",
        "from": f"{year}年{mon}月1日",
        "to": f"{year}年{mon}月{last_day}日",
        "kpis": kpis,
        "tables": [
            ("受理案件按来源", rows(by_source), len(received)),
            ("受理案件按纠纷类别", rows(by_category), len(received)),
            ("受理案件按风险等级", rows(by_risk), len(received)),
            ("结案按结果", rows(by_outcome), len(closed)),
            ("结案按化解层级", rows(by_level), len(closed)),
        ],
        "charts": {
            "category": bar_chart(rows(by_category), title="受理案件按纠纷类别（件）"),
            "source": donut_chart(rows(by_source), title="受理案件来源", height=150),
            "outcome": donut_chart(rows(by_outcome), title="结案结果（中心为调解成功率）",
                                   height=150, center_label=_pct(len(success), len(mediated))),
            "level": bar_chart(rows(by_level), title="结案按化解层级（件）", color="#4f8a3c"),
        },
        "overdue": [{"case_no": c.case_no, "title": c.title, "state": labels_of(c).state(c.state)}
                    for c in sorted(overdue, key=lambda c: c.case_no)],
        "totals": {"received": len(received), "closed": len(closed), "success": len(success),
                   "mediated": len(mediated), "in_community": len(in_community),
                   "overdue": len(overdue), "signed": signed, "performed": performed,
                   "confirmations": confirmations, "open_at_end": open_at_end},
    }


def monthly_report_pdf(session: Session, org_code: str, month: str) -> bytes:
    """The monthly report of the unit ``org_code`` for ``month`` (``YYYY-MM``) as PDF bytes.

    Raises ``NotFound`` for an unknown unit and ``ValidationFailed`` for a bad month.
    """
    org = session.scalar(select(OrgUnit).where(OrgUnit.code == org_code))
    if org is None:
        raise NotFound(msg("unknown_org", code=org_code))
    ctx = monthly_context(session, org, month)
    settings = catalogue().reports.get("monthly", {})
    _, end = month_range(month)
    date = (end + CST - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00+08:00")
    return renderer().render(settings.get("template", "monthly.html"),
                             {"r": ctx, "title": settings.get("title", "")},
                             settings.get("css", ["base.css", "monthly.css"]), date=date,
                             title=f"{ctx['org']} {ctx['period']}")
