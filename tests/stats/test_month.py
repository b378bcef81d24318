"""A month built by hand through the engine, counted by hand, and the same figures read from
the statistics, the API and the printed monthly report.

October 2026, 武林街道 (S1). Every case below is walked with the engine at the China time given;
no sweep runs, so deadlines that pass are noticed only by their due dates.

    A  reported 9-20, accepted 9-21, still in grid mediation: its 15-day limit fell on 10-6
    B  reported 9-25, accepted 9-26, agreement signed 10-3, judicial confirmation applied
       10-10, follow-up 10-19 found it performed, closed 10-20 (settled in the grid)
    C  reported 10-2 (合同), accepted 10-2, escalated 10-5, centre 10-6, ended 10-25
    D  reported 10-3 (party's application), refused 10-4
    E  reported 10-5, withdrawn 10-6 before acceptance
    F  reported 10-7 (物业), accepted 10-8, withdrawn 10-20
    G  reported 10-10, escalated 10-11, never reviewed: its 3-day limit fell on 10-14
    H  reported 10-12, accepted 10-12, oral agreement registered and in force 10-13
    I  consultation registered 10-15, converted 10-16 into case I2, accepted 10-17
    J  consultation registered 10-18, answered 10-19
    K  reported 10-28 in another street (天水街道)
    L  reported 11-2
    M  reported 10-30, accepted 11-1

Counted by hand for S1, October:
    received (reported disputes)  C D E F G H I2 M                      = 8
    accepted (entered mediation)  C F H I2                              = 4
    closed                        B C D E F                             = 5
    mediations concluded          B C F (D refused, E never accepted)   = 3
    settled                       B                                     = 1   → 33.33 %
    settled in the community      B                                     = 1   → 33.33 %
    not accepted                  D E                                   = 2
    by level                      grid: B F, centre: C
    agreements                    B (written, in force 10-3), H (oral)  = 2
    performed                     B                                     = 1
    judicial confirmations        B                                     = 1
    overdue                       A (grid limit 10-6), G (review limit 10-14) = 2
    open at the end               A G H I2 M                            = 5
    consultations                 I J                                   = 2, one converted
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.documents.monthly import monthly_report_pdf
from mediation.errors import ValidationFailed
from mediation.orgs.operations import find_org
from mediation.stats.queries import case_stats
from mediation.timeutil import utcnow
from tests.api.conftest import api  # noqa: F401  (the API as the world's users)
from tests.documents.conftest import needs_poppler, read_pdf  # noqa: F401
from tests.factories import AGREEMENT, case_body


def cst(month: int, day: int, hour: int = 10) -> datetime:
    """A China time of 2026 as the naive UTC the engine takes."""
    return datetime(2026, month, day, hour) - timedelta(hours=8)


class Month:
    """Walks the cases of the module docstring through the engine."""

    def __init__(self, rt, world):
        self.rt, self.world = rt, world
        self.ids: dict[str, int] = {}

    def report(self, name: str, at: datetime, username: str = "v1", **body) -> int:
        with self.rt.db.session() as s:
            case, _ = create_case(s, self.rt.engine, case_body(**body),
                                  actor=self.world.user(s, username), now=at)
            self.ids[name] = case.id
            return case.id

    def fire(self, name: str, trigger: str, username: str, at: datetime, **data) -> None:
        self.world.fire(self.ids[name], trigger, username, data, now=at)

    def act(self, name: str, action: str, username: str, at: datetime, **data) -> None:
        with self.rt.db.session() as s:
            self.rt.engine.act(s, self.ids[name], action, actor=self.world.user(s, username),
                               data=data, now=at)

    def sign(self, name: str, username: str, at: datetime) -> None:
        with self.rt.db.session() as s:
            actor = self.world.user(s, username)
            save_agreement(s, self.rt.engine, self.ids[name], dict(AGREEMENT), actor=actor,
                           now=at)
            case = s.get(Case, self.ids[name])
            for p in case.parties:
                add_signature(s, self.rt.engine, case.id, signer=str(p.id), method="signature",
                              signed_at=at, actor=actor, now=at)
            add_signature(s, self.rt.engine, case.id, signer="mediator", method="signature",
                          signed_at=at, actor=actor, now=at)
            add_signature(s, self.rt.engine, case.id, signer="committee", method="seal",
                          signed_at=at, actor=actor, now=at)

    def build(self) -> Month:
        why = {"reason": "双方分歧较大"}
        self.report("A", cst(9, 20))
        self.fire("A", "accept", "v1", cst(9, 21))
        self.report("B", cst(9, 25))
        self.fire("B", "accept", "v1", cst(9, 26))
        self.sign("B", "v1", cst(10, 3))
        self.fire("B", "sign_agreement", "v1", cst(10, 3, 11))
        self.act("B", "record_judicial_confirmation", "v1", cst(10, 10),
                 court="杭州市上城区人民法院", applied_on="2026-10-10")
        self.act("B", "record_follow_up", "v1", cst(10, 19), date="2026-10-19", method="上门",
                 result="performed")
        self.fire("B", "confirm_performance", "v1", cst(10, 20))
        self.report("C", cst(10, 2), category="合同")
        self.fire("C", "accept", "v1", cst(10, 2, 11))
        self.fire("C", "escalate", "v1", cst(10, 5), **why)
        self.fire("C", "assign_center", "r1", cst(10, 6), mediator="r1")
        self.fire("C", "end_without_agreement", "r1", cst(10, 25), routes_informed=True,
                  reason="双方坚持诉讼")
        self.report("D", cst(10, 3), source="application")
        self.fire("D", "reject", "v1", cst(10, 4), reason="已起诉至法院")
        self.report("E", cst(10, 5))
        self.fire("E", "withdraw", "v1", cst(10, 6), statement="申请人撤回")
        self.report("F", cst(10, 7), category="物业")
        self.fire("F", "accept", "v1", cst(10, 8))
        self.fire("F", "withdraw", "v1", cst(10, 20), statement="双方自行和解")
        self.report("G", cst(10, 10))
        self.fire("G", "escalate", "v1", cst(10, 11), **why)
        self.report("H", cst(10, 12))
        self.fire("H", "accept", "v1", cst(10, 12, 11))
        self.act("H", "register_oral_agreement", "v1", cst(10, 13), date="2026-10-13",
                 content="清理楼道杂物")
        self.fire("H", "sign_agreement", "v1", cst(10, 13, 11))
        self.report("I", cst(10, 15), workflow="consultation", username="l1")
        self.fire("I", "convert", "l1", cst(10, 16), reason="属于邻里纠纷，转调解")
        with self.rt.db.session() as s:
            self.ids["I2"] = s.scalar(select(Case.id).where(Case.origin_case_id == self.ids["I"]))
        self.fire("I2", "accept", "v1", cst(10, 17))
        self.report("J", cst(10, 18), workflow="consultation", username="l1")
        self.fire("J", "answer", "l1", cst(10, 19), answer="可以协商解决")
        self.report("K", cst(10, 28), username="v3", grid="G3")
        self.report("L", cst(11, 2))
        self.report("M", cst(10, 30))
        self.fire("M", "accept", "v1", cst(11, 1))
        return self


@pytest.fixture
def month(rt, world) -> Month:
    return Month(rt, world).build()


@needs_poppler
def test_the_figures_of_a_month_match_a_hand_count(rt, world, month, api, read_pdf):  # noqa: F811
    with rt.db.session() as s:
        fig = case_stats(s, rt.store, org=find_org(s, "S1"),
                         date_from=datetime(2026, 10, 1).date(),
                         date_to=datetime(2026, 10, 31).date())
    assert fig.received == 8
    assert fig.by_source == {"whistle": 6, "application": 1, "consultation": 1}
    assert fig.by_category == {"邻里": 6, "合同": 1, "物业": 1}
    assert fig.accepted == 4
    assert fig.accepted_by_category == {"邻里": 2, "合同": 1, "物业": 1}
    assert fig.closed == 5
    assert fig.closed_by_state == {"resolved": 1, "litigation": 1, "rejected": 1,
                                   "withdrawn": 2}
    assert (fig.mediated, fig.success, fig.in_community, fig.not_accepted) == (3, 1, 1, 2)
    assert fig.mediated_by_state == {"resolved": 1, "litigation": 1, "withdrawn": 1}
    assert fig.by_level == {"grid": 2, "center": 1}
    assert fig.success_rate == fig.in_community_rate == 0.3333
    assert fig.agreements_signed == 2
    assert fig.agreements_performed == 1
    assert fig.judicial_confirmations == 1
    with rt.db.session() as s:
        numbers = {s.get(Case, i).number: name for name, i in month.ids.items()}
    assert [numbers[c.case_no] for c in fig.overdue_cases] == ["A", "G"]
    assert fig.open_at_end == 5
    assert fig.consultations == 2 and fig.consultations_by_outcome == {"converted": 1}

    # The API answers the same figures for the same days.
    r = api.get("/stats?from=2026-10-01&to=2026-10-31&org=S1", "r1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["total"], body["accepted"], body["overdue"]) == (8, 4, 2)
    assert body["success_rate"] == body["in_community_rate"] == 0.3333

    # The printed report prints them, with the same rates.
    with rt.db.session() as s:
        pdf = read_pdf(monthly_report_pdf(s, "S1", "2026-10", preparer="赵丽华",
                                          reviewer="陈志刚"))
    kpis = {"本月接报纠纷": "8件", "本月受理调解": "4件", "本月调结": "3件", "调解成功": "1件",
            "调解成功率": "33.33%", "社区内化解率": "33.33%（1件）", "达成协议": "2份",
            "协议履行完毕": "1件", "申请司法确认": "1件", "超期案件": "2件", "月末在办": "5件",
            "法律咨询（另计）": "2件"}
    assert {k: pdf.above(k) for k in kpis} == kpis
    assert not pdf.has("填报单位（盖章）：武林街道", "审核人：陈志刚", "填表人：赵丽华", "单位负责人",
                       "报出日期：2026年10月31日", "单位印章", "2026年10月6日", "2026年10月14日",
                       "1÷3＝33.33%")
    assert "中期" not in pdf.text
    # the overdue cases, with the step whose limit passed and the date it passed
    listed = pdf.text[pdf.text.index("期限届满"):]
    assert not [t for t in ("网格调解中", "2026年10月6日", "待矛调中心审查", "2026年10月14日")
                if t not in listed]


@needs_poppler
def test_a_month_not_over_is_interim_and_one_not_begun_is_refused(rt, world, read_pdf):  # noqa: F811
    china_now = utcnow() + timedelta(hours=8)
    this_month = f"{china_now:%Y-%m}"
    with rt.db.session() as s:
        pdf = read_pdf(monthly_report_pdf(s, "S1", this_month))
        assert not pdf.has("人民调解工作月度统计报表（中期）", "本表为中期统计", "不作为本月正式报表报送",
                           "目前在办")
        assert all("中期" in page for page in pdf.pages)  # every page says so
        nxt = (china_now.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
        with pytest.raises(ValidationFailed) as err:
            monthly_report_pdf(s, "S1", nxt)
        assert "尚未开始" in err.value.errors[0].message.render("zh-CN")
