"""The monthly statistics report of an org unit (`mediation report monthly`).

The figures are those of :mod:`mediation.stats.queries`, the computation the API and the web
pages read (as the Ministry of Justice's people's mediation statistics count: accepted = entered
mediation, success over mediations concluded, consultations apart, overdue by deadline). This
module names them (state and level names from the definitions, `[levels]` included; titles from
the catalogue), draws the charts and prints the report with its reporting unit and sign-off
block (单位负责人, 审核人, 填表人, seal).

A month not yet begun is refused. A month not yet over is printed as an **interim** report: the
figures up to the time of printing, marked 中期 in the title and on every page, never to be
filed as the month's report.
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
from mediation.documents.formatting import CST, SOURCES, cn_date, cn_datetime
from mediation.documents.render import renderer
from mediation.documents.sources import PINNED, current_levels
from mediation.errors import FieldError, NotFound, ValidationFailed
from mediation.i18n import msg
from mediation.orgs.models import OrgUnit
from mediation.stats.charts import bar_chart, donut_chart
from mediation.stats.queries import Definitions, percent, period_figures
from mediation.timeutil import utcnow
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


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "—"


def _days(delta: timedelta) -> int:
    """Whole days, at least one (a case one hour past its deadline is one day late)."""
    return max(1, -(-int(delta.total_seconds()) // 86400))


def monthly_context(session: Session, org: OrgUnit, month: str,
                    store: Definitions | None = None, *, now: datetime | None = None,
                    preparer: str = "", reviewer: str = "") -> dict[str, Any]:
    """The figures, tables and charts of ``org``'s report for ``month`` (``YYYY-MM``).

    The figures are those of :func:`mediation.stats.queries.period_figures` (the same as the
    API's); this only gives them their printed names. Raises ``ValidationFailed`` for a month
    not yet begun; a month not yet over gives an interim report (``interim`` true, figures up
    to ``now``).
    """
    now = now or utcnow()
    start, end = month_range(month)
    if start > now:
        raise ValidationFailed(errors=[FieldError("month", msg(
            "%(month)s 尚未开始，不能生成月度统计报表", month=month))])
    interim = end > now
    seen = _Recording(store or PINNED)
    fig = period_figures(session, seen, org=org, start=start, end=end, now=now)
    level_labels = seen.level_labels()

    def rows(counter: dict[str, int], label: Callable[[str], str]) -> list[tuple[str, int]]:
        named: Counter[str] = Counter()
        for key, n in counter.items():
            named[label(key)] += n
        return sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))

    by_category = rows(fig.accepted_by_category, str)
    by_source = rows(fig.accepted_by_source, lambda k: SOURCES.get(k, k))
    by_risk = rows(fig.by_risk, lambda k: RISK_LABELS.get(k, k))
    by_outcome = rows(fig.mediated_by_state, fig.state_label)
    levels = dict(fig.by_level)
    unlevelled = fig.mediated - sum(levels.values())
    if unlevelled:
        levels[""] = unlevelled
    by_level = rows(levels, lambda k: level_labels.get(k, OTHER_LEVEL) if k else NO_LEVEL)
    success_rate = percent(fig.success_rate)
    in_community_rate = percent(fig.in_community_rate)

    year, mon = month[:4], int(month[5:])
    last_day = (end + CST - timedelta(days=1)).day
    kpis = [
        ("本月接报纠纷", fig.received, "件"),
        ("本月受理调解", fig.accepted, "件"),
        ("本月调结", fig.mediated, "件"),
        ("调解成功", fig.success, "件"),
        ("调解成功率", success_rate, ""),
        ("社区内化解率", in_community_rate, f"（{fig.in_community}件）"),
        ("达成协议", fig.agreements_signed, "份"),
        ("协议履行完毕", fig.agreements_performed, "件"),
        ("申请司法确认", fig.judicial_confirmations, "件"),
        ("超期案件", fig.overdue, "件"),
        ("月末在办" if not interim else "目前在办", fig.open_at_end, "件"),
        ("法律咨询（另计）", fig.consultations, "件"),
    ]
    counted_to = min(end, now)
    overdue = []
    for c in fig.overdue_cases:
        left = c.until if c.until is not None and c.until < counted_to else None
        overdue.append({
            "case_no": c.case_no, "title": c.title, "state": fig.state_label(c.state),
            "due": cn_date(c.due_at), "days": _days((left or counted_to) - c.due_at),
            "status": f"{cn_date(left)}离开该环节" if left else "仍未办结"})
    printed = end + CST - timedelta(days=1) if not interim else now + CST
    return {
        "org": org.name, "org_kind": KIND_LABELS.get(org.kind, org.kind), "org_code": org.code,
        "month": month, "period": f"{year}年{mon}月",
        "from": f"{year}年{mon}月1日",
        "to": f"{year}年{mon}月{last_day}日",
        "interim": interim,
        "as_of": cn_datetime(now) if interim else "",
        "kpis": kpis,
        "tables": [
            ("受理调解案件按纠纷类别", by_category, fig.accepted),
            ("受理调解案件按来源", by_source, fig.accepted),
            ("接报纠纷按风险等级", by_risk, fig.received),
            ("调结案件按结果", by_outcome, fig.mediated),
            ("调结案件按化解层级", by_level, fig.mediated),
        ],
        "charts": {
            "category": bar_chart(by_category, title="受理调解案件按纠纷类别（件）"),
            "source": donut_chart(by_source, title="受理调解案件来源", height=120),
            "outcome": donut_chart(by_outcome, title="调结案件结果（中心为调解成功率）",
                                   height=120, center_label=success_rate),
            "level": bar_chart(by_level, title="调结案件按化解层级（件）", color="#4f8a3c"),
        },
        "overdue": overdue,
        "totals": {"received": fig.received, "accepted": fig.accepted,
                   "closed": fig.closed, "success": fig.success,
                   "mediated": fig.mediated, "not_accepted": fig.not_accepted,
                   "in_community": fig.in_community,
                   "overdue": fig.overdue, "signed": fig.agreements_signed,
                   "performed": fig.agreements_performed,
                   "confirmations": fig.judicial_confirmations, "open_at_end": fig.open_at_end,
                   "consultations": fig.consultations,
                   "converted": fig.consultations_by_outcome.get("converted", 0)},
        "rates": {"success": success_rate, "in_community": in_community_rate},
        "signoff": {"unit": org.name, "preparer": preparer, "reviewer": reviewer,
                    "date": cn_date(printed.date())},
        "pdf_date": printed.strftime("%Y-%m-%dT00:00:00+08:00"),
    }


def monthly_report_pdf(session: Session, org_code: str, month: str,
                       store: Definitions | None = None, *, now: datetime | None = None,
                       preparer: str = "", reviewer: str = "") -> bytes:
    """The monthly report of the unit ``org_code`` for ``month`` (``YYYY-MM``) as PDF bytes.

    Definitions come from ``store`` (a runtime's) when given, else from the pinned texts.
    ``preparer`` and ``reviewer`` print in the sign-off block (blank lines to sign when not
    given). Raises ``NotFound`` for an unknown unit and ``ValidationFailed`` for a bad month or
    one not yet begun; a month not yet over prints as an interim report.
    """
    org = session.scalar(select(OrgUnit).where(OrgUnit.code == org_code))
    if org is None:
        raise NotFound(msg("单位“%(code)s”不存在", code=org_code))
    ctx = monthly_context(session, org, month, store, now=now, preparer=preparer,
                         reviewer=reviewer)
    settings = catalogue().reports.get("monthly", {})
    title = settings.get("title", "")
    return renderer().render(settings.get("template", "monthly.html"),
                             {"r": ctx, "title": title},
                             settings.get("css", ["base.css", "monthly.css"]),
                             date=ctx["pdf_date"],
                             title=f"{ctx['org']} {ctx['period']}{'（中期）' if ctx['interim'] else ''}")
