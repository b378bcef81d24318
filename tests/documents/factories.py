"""Realistic cases for the document tests and benchmarks, walked through the engine.

A committee with its real-looking names, Chinese parties (an organisation among them, three
parties), long facts when asked. Every step goes through the engine's own API at a chosen time
(``create_case``, ``engine.fire``, ``engine.act``, ``save_agreement``, ``add_signature``), so the
documents are printed from the case and trail the engine really produces.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.auth.operations import create_user
from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.orgs.operations import add_org_unit
from tests.factories import World, password_of

T0 = datetime(2025, 3, 3, 1, 0)  # 09:00 in Hangzhou

# code, name, kind, parent, short name (the committee's goes into the case number)
ORGS = [("D1", "杭州市下城区", "district", None, "下城"),
        ("S1", "武林街道", "street", "D1", "武林"),
        ("C1", "武林门社区", "community", "S1", "武林门"),
        ("G1", "武林门社区第三网格", "grid", "C1", "三网格")]
USERS = [("wangxy", "volunteer", "G1", "王秀英"), ("chenzg", "reviewer", "S1", "陈志刚"),
         ("liumin", "lawyer", "D1", "刘敏")]

LONG_FACTS = (
    "2024年7月起，申请人张桂英位于武林门新村3幢2单元301室的住房卫生间及厨房顶部多次出现渗水，"
    "墙面霉变、吊顶脱落，影响正常居住。申请人认为渗水系楼上402室住户李建华装修时破坏防水层所致，"
    "多次上门协商未果；李建华则认为渗水源自公共排水立管老化，应由物业公司负责维修。"
    "被申请人杭州武林物业服务有限公司表示曾于2024年9月派员查看，但因双方对责任意见不一，未安排维修。"
)


def _text(seed: str, repeat: int) -> str:
    return "\n".join(f"{seed}（第{i + 1}段）" for i in range(repeat))


# What must still print inside its box: a 40-letter Latin name without a space, characters of
# CJK Extension B (𪚥) and A (㐀), a 5,000-character text with an unbroken 120-letter run.
LATIN_NAME = "Wolfeschlegelsteinhausenbergerdorffvoral"
RARE_NAME = "张𪚥㐀"
LONG_RUN = "https://example.org/" + "x" * 100
HOSTILE_TEXT = (LONG_FACTS + LONG_RUN + "。") * 5000
HOSTILE_TEXT = HOSTILE_TEXT[:5000]


class DocumentWorld(World):
    """The committee of the document tests (武林门社区) and its three mediators."""

    def build(self) -> DocumentWorld:
        with self.rt.db.session() as s:
            for code, name, kind, parent, short in ORGS:
                add_org_unit(s, code, name=name, kind=kind, parent_code=parent, short_name=short)
            for username, role, org, full_name in USERS:
                create_user(s, username, role=role, org_code=org,
                            password=password_of(username), full_name=full_name)
        return self


class CaseBuilder:
    """Walks one case through the engine, each step some hours after the one before."""

    def __init__(self, world: World, session: Session, *, day: int = 1,
                 text: str | None = None, long: bool = False, title: str | None = None,
                 category: str = "邻里", hostile: bool = False, agent: bool = False):
        self.rt = world.rt
        self.session = session
        self.text = text  # replaces every free text (injection test)
        self.long = long
        self.now = T0 + timedelta(days=day % 20)
        self.volunteer = world.user(session, "wangxy")
        self.reviewer = world.user(session, "chenzg")
        self.lawyer = world.user(session, "liumin")
        parties = [
            {"role": "applicant", "kind": "person", "name": "张桂英", "sex": "女",
             "birth_year": 1958, "ethnicity": "汉族", "occupation": "退休职工",
             "address": self.t("杭州市下城区武林门新村3幢2单元301室", 200),
             "phone": "13857112345", "id_number": "330103195803120027"},
            {"role": "respondent", "kind": "organization", "name": "杭州武林物业服务有限公司",
             "address": self.t("杭州市下城区环城北路88号", 200),
             "legal_representative": "周建国", "representative_title": "总经理",
             "phone": "057185012345", "credit_code": "91330103MA2B3C4D52"},
            {"role": "third_party", "kind": "person", "name": "李建华", "sex": "男",
             "birth_year": 1976, "ethnicity": "回族", "occupation": "个体工商户",
             "employer": self.t("建华五金店", 100), "address": "杭州市下城区武林门新村3幢2单元402室",
             "phone": "13905718888", "id_number": "330103197605051234"},
        ]
        if agent:
            parties[0]["agents"] = [{"kind": "agent", "name": "孙立平", "relation": "律师",
                                     "authority": "特别授权"}]
        if hostile:
            parties[0]["name"] = RARE_NAME
            parties[0]["address"] = f"杭州市下城区武林门新村3幢{RARE_NAME}室"
            parties[1]["name"] = LATIN_NAME
            parties[1]["legal_representative"] = LATIN_NAME
            parties[2]["employer"] = LATIN_NAME
        self.hostile = hostile
        body = {"workflow": "aunt_whistle", "grid": "G1", "category": category,
                "risk_level": "medium", "source": "whistle",
                "title": self.t(title or "武林门新村3幢楼上漏水纠纷", 200),
                "description": HOSTILE_TEXT if hostile else self.t(
                    _text(LONG_FACTS, 6) if long else LONG_FACTS),
                "parties": parties}
        self.case, _ = create_case(session, self.rt.engine, body, actor=self.volunteer,
                                   now=self.now)

    @property
    def reported_on(self) -> date:
        """The China date the case was reported (records cannot be dated earlier)."""
        return (self.case.created_at + timedelta(hours=8)).date()

    def t(self, value: str, limit: int | None = None) -> str:
        """A free text, or the test's payload in its place (cut to the column's size)."""
        if self.text is None:
            return value
        return self.text[:limit] if limit else self.text

    def tick(self, hours: float = 5) -> datetime:
        """The time of the next step."""
        self.now += timedelta(hours=hours)
        return self.now

    def move(self, trigger: str, actor: User, **data: Any) -> CaseBuilder:
        """Fire ``trigger`` as ``actor``."""
        self.case = self.rt.engine.fire(self.session, self.case.id, trigger, actor=actor,
                                        data=data, now=self.tick()).case
        return self

    def act(self, action: str, actor: User, **data: Any) -> CaseBuilder:
        """Record ``action`` as ``actor``."""
        self.rt.engine.act(self.session, self.case.id, action, actor=actor, data=data,
                           now=self.tick())
        return self

    def sessions(self, n: int, actor: User) -> CaseBuilder:
        """``n`` mediation sessions with what each side said."""
        for i in range(n):
            summary = _text(
                "申请人张桂英陈述：渗水已持续八个月，要求楼上住户和物业公司承担维修费用并赔偿装修损失。"
                "第三人李建华陈述：装修时未改动卫生间防水，渗水可能来自公共立管。"
                "被申请人物业公司代理人陈述：愿意配合检测，对公共部位承担维修责任。", 12 if self.long else 2)
            first = max(date(2025, 3, 10), self.reported_on)
            self.act("record_session", actor, date=(first + timedelta(days=7 * i)).isoformat(),
                     place=self.t("武林门社区调解室"),
                     participants=["张桂英", "李建华", "周建国（物业公司）", actor.full_name],
                     summary=self.t(summary),
                     outcome=self.t("各方同意委托第三方检测渗水原因，下次继续调解。"))
        return self

    def investigations(self, n: int, actor: User) -> CaseBuilder:
        """``n`` investigations."""
        for i in range(n):
            self.act("record_investigation", actor,
                     date=(max(date(2025, 3, 5), self.reported_on) + timedelta(days=i)).isoformat(),
                     place=self.t("武林门新村3幢301室、402室"), people=self.t("张桂英、李建华"),
                     findings=self.t(_text("现场查看：301室卫生间吊顶有明显水渍，面积约2平方米；"
                                           "402室卫生间地面瓷砖为2024年6月新铺。", 10 if self.long else 2)))
        return self

    def attachments(self, n: int, actor: User) -> CaseBuilder:
        """``n`` attached files."""
        for i in range(n):
            name = f"{LATIN_NAME}{LATIN_NAME}{i + 1}.jpg" if self.hostile else f"现场照片{i + 1}.jpg"
            self.act("attach_file", actor, filename=self.t(name),
                     description=self.t("301室卫生间吊顶渗水照片"))
        return self

    def agreement(self, *, sign: bool = True) -> CaseBuilder:
        """A complete written agreement, drafted by the handler; signed by every party (the
        company seals) and the mediator unless ``sign`` is false."""
        actor = self.case.assignee or self.volunteer
        applicant, company, third = (p.name for p in self.case.parties)
        save_agreement(self.session, self.rt.engine, self.case.id, {
            "facts": HOSTILE_TEXT if self.hostile else self.t(
                _text(LONG_FACTS, 8) if self.long else LONG_FACTS),
            "dispute_matters": self.t("一、渗水原因及责任承担；二、301室维修费用及装修损失的赔偿数额。"),
            "responsibilities": self.t(
                "经第三方检测，渗水系402室卫生间防水层破损及公共立管接口老化共同所致，"
                "第三人李建华承担主要责任，物业公司承担次要责任。"),
            "performance_method": self.t("以银行转账方式支付至申请人指定账户；维修由物业公司组织施工。"),
            "performance_place": self.t("武林门社区人民调解委员会调解室", 200),
            "performance_deadline": date(2025, 4, 30), "copies": 4, "recorder": "赵丽华",
            "terms": [
                {"obligor": third, "obligee": applicant,
                 "content": self.t("重新做好402室卫生间防水并承担费用"),
                 "due_date": date(2025, 4, 15)},
                {"obligor": third, "obligee": applicant,
                 "content": self.t("赔偿申请人张桂英装修损失"),
                 "amount": "6800", "due_date": date(2025, 4, 20)},
                {"obligor": company, "obligee": applicant,
                 "content": self.t("更换3幢2单元公共排水立管接口，并承担申请人吊顶修复费用"),
                 "amount": "2200", "due_date": date(2025, 4, 30)},
                {"obligor": applicant, "obligee": third,
                 "content": self.t("配合施工，收到上述款项后不再就本纠纷提出其他主张")},
            ]}, actor=actor, now=self.tick())
        if sign:
            signers = [(str(p.id), "seal" if p.kind == "organization" else "signature")
                       for p in self.case.parties] + [("mediator", "signature"),
                                                      ("committee", "seal")]
            for signer, method in signers:
                at = self.tick(hours=1 / 3)
                add_signature(self.session, self.rt.engine, self.case.id, signer=signer,
                              method=method, signed_at=at, actor=actor, now=at)
        return self


def resolved_case(world: World, session: Session, *, day: int = 1, text: str | None = None,
                  long: bool = False, sessions: int = 2, same_month: bool = False,
                  hostile: bool = False) -> Case:
    """A whistle → grid mediation → written agreement → performed → resolved case (with
    ``hostile``: a 40-letter Latin name, rare characters and 5,000-character texts)."""
    b = CaseBuilder(world, session, day=day, text=text, long=long, hostile=hostile)
    b.move("accept", b.volunteer)
    b.investigations(2, b.volunteer).attachments(3, b.volunteer).sessions(sessions, b.volunteer)
    b.agreement()
    b.move("sign_agreement", b.volunteer)
    if not same_month:
        b.now = datetime(2025, 4, 2, 2, 0)
    b.act("record_judicial_confirmation", b.volunteer, court=b.t("杭州市下城区人民法院"),
          applied_on="2025-04-02", ruling=b.t("调解协议有效"), ruled_on="2025-04-09")
    if not same_month:
        b.now = datetime(2025, 5, 6, 2, 0)
    b.act("record_follow_up", b.volunteer, date="2025-05-06", method=b.t("上门回访"),
          result="performed", notes=b.t("各项条款均已履行，301室吊顶已修复，双方表示满意。"))
    b.move("confirm_performance", b.volunteer)
    return b.case


def litigation_case(world: World, session: Session, *, day: int = 2,
                    text: str | None = None, hostile: bool = False) -> Case:
    """Escalated, mediated at the centre without agreement: ended, routes explained."""
    b = CaseBuilder(world, session, day=day, text=text, title="拖欠装修工程款纠纷",
                    category="合同", hostile=hostile)
    b.move("accept", b.volunteer)
    b.move("escalate", b.volunteer, reason=b.t("涉及金额较大，网格调解未果"))
    b.move("assign_center", b.reviewer, mediator="chenzg")
    b.sessions(1, b.reviewer)
    b.move("end_without_agreement", b.reviewer, routes_informed=True,
           reason=b.t("双方对工程款数额分歧较大，经三次调解仍无法达成一致。"))
    return b.case


def oral_case(world: World, session: Session, *, day: int = 3) -> Case:
    """A small dispute settled on the spot by an oral agreement."""
    b = CaseBuilder(world, session, day=day, title="楼道堆放杂物纠纷")
    b.move("accept", b.volunteer)
    b.act("register_oral_agreement", b.volunteer, date=b.reported_on.isoformat(),
          content="李建华于三日内清理楼道内堆放的装修材料，张桂英不再追究。")
    b.move("sign_agreement", b.volunteer)
    return b.case


def signing_case(world: World, session: Session, *, day: int = 4) -> Case:
    """In grid mediation with an agreement drafted but not signed by everyone."""
    b = CaseBuilder(world, session, day=day)
    b.move("accept", b.volunteer)
    b.agreement(sign=False)
    return b.case
