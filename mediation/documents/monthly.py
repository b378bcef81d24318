"""The monthly statistics report of an org unit (`mediation report monthly`).

Counts for the cases of the unit's subtree: received in the month by source, category and risk;
closed in the month by outcome and by the level that settled them; success rate, agreements
signed and performed, judicial confirmations, disputes settled inside the community, overdue.
The figures are computed by :mod:`mediation.stats.queries` (as for the API); this module names
them (state and level names from the definitions, `[levels]` included; titles from the
catalogue), draws the charts and prints the report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.documents.catalogue import catalogue
from mediation.documents.formatting import CST, SOURCES
from mediation.documents.render import renderer
from mediation.documents.sources import PINNED, current_levels
from mediation.errors import FieldError, NotFound, ValidationFailed
from mediation.i18n import msg
from mediation.orgs.models import OrgUnit
from mediation.stats.charts import bar_chart, donut_chart
from mediation.stats.queries import Definitions, period_figures
from mediation.workflow.definition import Definition

KIND_LABELS = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}
RISK_LABELS = {"low": "低风险", "medium": "中风险", "high": "高风险"}
# Closed cases none of whose states has a level (e.g. another kind of workflow).
NO_LEVEL = "未进入调解"
# A level no definition names (its [levels] table lacks it): never print the internal key.
OTHER_LEVEL = "其他层级"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_range(month: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` in China time, as naive UTC ``[start, end)``."""
    match = _MONTH.match(month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed(errors=[FieldError("month", msg("月份格式不正确（应为 YYYY-MM）"))])
    year, mon = int(match.group(1)), int(match.group(2))
    start = datetime(year, mon, 1)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1)
    return start - CST, end - CST


class _Recording:
    """A definition store that remembers the definitions the figures were computed with, so
    that the report prints their level names (``[levels]`` of each definition)."""

    def __init__(self, store: Definitions):
        self.store = store
        self.seen: dict[tuple[str, str], Definition] = {}

    def get(self, session: Session, name: str, version: str) -> Definition:
        """The definition ``name`` at ``version``, remembered."""
        found = self.seen.get((name, version))
        if found is None:
            found = self.seen[(name, version)] = self.store.get(session, name, version)
        return found

    def level_labels(self) -> dict[str, str]:
        """Level → printed name, over every definition seen (the current version's names for
        a pinned version that names none)."""
        names: dict[str, str] = {}
        for definition in self.seen.values():
            levels = {k: v.zh for k, v in definition.levels.items()} or current_levels(
                self.store, definition.name)
            for level, label in levels.items():
                names.setdefault(level, label)
        return names


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def monthly_context(session: Session, org: OrgUnit, month: str,
                    store: Definitions | None = None) -> dict[str, Any]:
    """The figures, tables and charts of ``org``'s report for ``month`` (``YYYY-MM``).

    The figures are those of :func:`mediation.stats.queries.period_figures` (the same as the
    API's); this only gives them their printed names.
    """
    start, end = month_range(month)
    seen = _Recording(store or PINNED)
    fig = period_figures(session, seen, org=org, start=start, end=end)
    level_labels = seen.level_labels()

    def rows(counter: dict[str, int], label: Callable[[str], str]) -> list[tuple[str, int]]:
        named: Counter[str] = Counter()
        for key, n in counter.items():
            named[label(key)] += n
        return sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))

    by_source = rows(fig.by_source, lambda k: SOURCES.get(k, k))
    by_category = rows(fig.by_category, str)
    by_risk = rows(fig.by_risk, lambda k: RISK_LABELS.get(k, k))
    by_outcome = rows(fig.closed_by_state, fig.state_label)
    levels = dict(fig.by_level)
    unlevelled = fig.closed - sum(levels.values())
    if unlevelled:
        levels[""] = unlevelled
    by_level = rows(levels, lambda k: level_labels.get(k, OTHER_LEVEL) if k else NO_LEVEL)
    success_rate = _pct(fig.success, fig.mediated)

    year, mon = month[:4], int(month[5:])
    last_day = (end + CST - timedelta(days=1)).day
    kpis = [
        ("本月受理", fig.received, "件"), ("本月结案", fig.closed, "件"),
        ("调解成功率", success_rate, ""),
        ("达成协议", fig.agreements_signed, "份"),
        ("协议履行完毕", fig.agreements_performed, "件"),
        ("申请司法确认", fig.judicial_confirmations, "件"),
        ("社区内化解", fig.in_community, f"件（{_pct(fig.in_community, fig.success)}）"),
        ("超期案件", fig.overdue, "件"), ("月末在办", fig.open_at_end, "件"),
    ]
    return {
        "org": org.name, "org_kind": KIND_LABELS.get(org.kind, org.kind), "org_code": org.code,
        "month": month, "period": f"{year}年{mon}月",
        "from": f"{year}年{mon}月1日",
        "to": f"{year}年{mon}月{last_day}日",
        "kpis": kpis,
        "tables": [
            ("受理案件按来源", by_source, fig.received),
            ("受理案件按纠纷类别", by_category, fig.received),
            ("受理案件按风险等级", by_risk, fig.received),
            ("结案按结果", by_outcome, fig.closed),
            ("结案按化解层级", by_level, fig.closed),
        ],
        "charts": {
            "category": bar_chart(by_category, title="受理案件按纠纷类别（件）"),
            "source": donut_chart(by_source, title="受理案件来源", height=120),
            "outcome": donut_chart(by_outcome, title="结案结果（中心为调解成功率）",
                                   height=120, center_label=success_rate),
            "level": bar_chart(by_level, title="结案按化解层级（件）", color="#4f8a3c"),
        },
        "overdue": [{"case_no": c.case_no, "title": c.title, "state": fig.state_label(c.state)}
                    for c in fig.overdue_cases],
        "totals": {"received": fig.received, "closed": fig.closed, "success": fig.success,
                   "mediated": fig.mediated, "in_community": fig.in_community,
                   "overdue": fig.overdue, "signed": fig.agreements_signed,
                   "performed": fig.agreements_performed,
                   "confirmations": fig.judicial_confirmations, "open_at_end": fig.open_at_end},
    }


def monthly_report_pdf(session: Session, org_code: str, month: str,
                       store: Definitions | None = None) -> bytes:
    """The monthly report of the unit ``org_code`` for ``month`` (``YYYY-MM``) as PDF bytes.

    Definitions come from ``store`` (a runtime's) when given, else from the pinned texts.
    Raises ``NotFound`` for an unknown unit and ``ValidationFailed`` for a bad month.
    """
    org = session.scalar(select(OrgUnit).where(OrgUnit.code == org_code))
    if org is None:
        raise NotFound(msg("单位“%(code)s”不存在", code=org_code))
    ctx = monthly_context(session, org, month, store)
    settings = catalogue().reports.get("monthly", {})
    _, end = month_range(month)
    date = (end + CST - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00+08:00")
    return renderer().render(settings.get("template", "monthly.html"),
                             {"r": ctx, "title": settings.get("title", "")},
                             settings.get("css", ["base.css", "monthly.css"]), date=date,
                             title=f"{ctx['org']} {ctx['period']}")
