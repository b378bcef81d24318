"""Realistic cases for the document tests and benchmarks, built from model rows.

Chinese names, an organisation among the parties, three parties, long facts when asked, and the
event trail a case leaves on its way (hash-chained with the engine's own ``append_event``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Agreement, AgreementTerm, Case, Party, Signature
from mediation.orgs.models import OrgUnit
from mediation.resources import data_dir
from mediation.security import FieldCipher
from mediation.workflow.audit import append_event
from mediation.workflow.definition import load_file
from mediation.workflow.models import DefinitionVersion

SECRET = "documents-test-secret"
T0 = datetime(2025, 3, 3, 1, 0)  # 09:00 in Hangzhou

LONG_FACTS = (
    "2024年7月起，申请人张桂英位于武林门新村3幢2单元301室的住房卫生间及厨房顶部多次出现渗水，"
    "墙面霉变、吊顶脱落，影响正常居住。申请人认为渗水系楼上402室住户李建华装修时破坏防水层所致，"
    "多次上门协商未果；李建华则认为渗水源自公共排水立管老化，应由物业公司负责维修。"
    "被申请人杭州武林物业服务有限公司表示曾于2024年9月派员查看，但因双方对责任意见不一，未安排维修。"
)


def _text(seed: str, repeat: int) -> str:
    return "\n".join(f"{seed}（第{i + 1}段）" for i in range(repeat))


def ensure_definition(session: Session) -> tuple[str, str]:
    """Pin workflows/aunt_whistle.toml as the engine does (the labels the documents print)."""
    path = data_dir("workflows") / "aunt_whistle.toml"
    definition = load_file(path)
    if session.get(DefinitionVersion, (definition.name, definition.version)) is None:
        session.add(DefinitionVersion(name=definition.name, version=definition.version,
                                      source=path.read_text(encoding="utf-8")))
    return definition.name, definition.version


def org_tree(session: Session) -> dict[str, OrgUnit]:
    """区 → 街道 → 社区 → 网格 (created once)."""
    existing = session.scalar(select(OrgUnit).where(OrgUnit.code == "G1"))
    if existing is not None:
        return {u.code: u for u in session.scalars(select(OrgUnit))}
    d = OrgUnit(code="D1", name="杭州市下城区", short_name="下城", kind="district", path="/D1/")
    s = OrgUnit(code="S1", name="武林街道", short_name="武林", kind="street", parent=d,
                path="/D1/S1/")
    c = OrgUnit(code="C1", name="武林门社区", short_name="武林门", kind="community", parent=s,
                path="/D1/S1/C1/")
    g = OrgUnit(code="G1", name="武林门社区第三网格", short_name="三网格", kind="grid", parent=c,
                path="/D1/S1/C1/G1/")
    session.add_all([d, s, c, g])
    session.flush()
    return {"D1": d, "S1": s, "C1": c, "G1": g}


def user(session: Session, username: str, full_name: str, role: str, org: OrgUnit) -> User:
    """A user (created once)."""
    found = session.scalar(select(User).where(User.username == username))
    if found is not None:
        return found
    u = User(username=username, full_name=full_name, role=role, org_unit=org,
             password_hash="x", session_token=f"tok-{username}")
    session.add(u)
    session.flush()
    return u


class CaseBuilder:
    """Builds one case and its trail step by step."""

    def __init__(self, session: Session, cipher: FieldCipher, *, number: int = 1,
                 text: str | None = None, long: bool = False, title: str | None = None):
        self.session = session
        self.cipher = cipher
        self.text = text  # replaces every free text (injection test)
        self.long = long
        self.now = T0 + timedelta(days=number % 20)
        orgs = org_tree(session)
        self.orgs = orgs
        self.volunteer = user(session, "wangxy", "王秀英", "volunteer", orgs["G1"])
        self.reviewer = user(session, "chenzg", "陈志刚", "reviewer", orgs["S1"])
        self.lawyer = user(session, "liumin", "刘敏", "lawyer", orgs["D1"])
        workflow, version = ensure_definition(session)
        self.case = Case(
            case_no=f"（2025）武林门人调字第{number:04d}号", workflow=workflow,
            definition_version=version, state="reported", version=1, grid=orgs["G1"],
            committee=orgs["C1"], category="邻里", source="whistle", risk_level="medium",
            title=self.t(title or "武林门新村3幢楼上漏水纠纷"),
            description=self.t(_text(LONG_FACTS, 6) if long else LONG_FACTS),
            reporter_id=self.volunteer.id, created_at=self.now, updated_at=self.now,
            state_entered_at=self.now)
        self.case.parties = [
            Party(position=0, role="applicant", kind="person", name="张桂英", sex="女",
                  birth_year=1958, ethnicity="汉族", occupation="退休职工",
                  address=self.t("杭州市下城区武林门新村3幢2单元301室"),
                  phone_enc=cipher.encrypt("13857112345"),
                  id_number_enc=cipher.encrypt("330103195803120027")),
            Party(position=1, role="respondent", kind="organization",
                  name="杭州武林物业服务有限公司", address=self.t("杭州市下城区环城北路88号"),
                  legal_representative="周建国", representative_title="总经理",
                  phone_enc=cipher.encrypt("057185012345"),
                  id_number_enc=cipher.encrypt("91330103MA2B3C4D5E")),
            Party(position=2, role="third_party", kind="person", name="李建华", sex="男",
                  birth_year=1976, ethnicity="回族", occupation="个体工商户",
                  employer=self.t("建华五金店"), address="杭州市下城区武林门新村3幢2单元402室",
                  phone_enc=cipher.encrypt("13905718888"),
                  id_number_enc=cipher.encrypt("330103197605051234")),
        ]
        session.add(self.case)
        session.flush()
        self.event("created", "aunt_whistle", None, "reported", {
            "grid": "G1", "category": "邻里", "risk_level": "medium", "source": "whistle",
            "title": self.case.title, "parties": [p.name for p in self.case.parties]},
            actor=self.volunteer)

    def t(self, value: str) -> str:
        """A free text, or the test's payload in its place."""
        return self.text if self.text is not None else value

    def event(self, kind: str, name: str, from_state: str | None, to_state: str | None,
              data: dict[str, Any], actor: User | None = None, hours: float = 5) -> None:
        """Append an event ``hours`` after the previous one."""
        self.now += timedelta(hours=hours)
        append_event(self.session, case_id=self.case.id, case_no=self.case.case_no,
                     at=self.now, actor=actor.username if actor else "system", kind=kind,
                     name=name, from_state=from_state, to_state=to_state, data=data)
        self.case.version += 1

    def move(self, trigger: str, to: str, actor: User | None, **data: Any) -> CaseBuilder:
        """Fire a transition (as rows)."""
        before = self.case.state
        self.case.state = to
        self.case.state_entered_at = self.now
        if trigger in ("accept",):
            self.case.assignee = actor
            data["assignee"] = actor.username if actor else None
        if to in ("resolved", "litigation", "withdrawn", "rejected"):
            self.case.closed_at = self.now + timedelta(hours=5)
        self.event("transition", trigger, before, to, data, actor)
        return self

    def act(self, action: str, actor: User, **data: Any) -> CaseBuilder:
        """Record an action (as rows)."""
        self.event("action", action, self.case.state, self.case.state, data, actor)
        return self

    def sessions(self, n: int, actor: User) -> CaseBuilder:
        """``n`` mediation sessions with what each side said."""
        for i in range(n):
            summary = _text(
                "申请人张桂英陈述：渗水已持续八个月，要求楼上住户和物业公司承担维修费用并赔偿装修损失。"
                "第三人李建华陈述：装修时未改动卫生间防水，渗水可能来自公共立管。"
                "被申请人物业公司代理人陈述：愿意配合检测，对公共部位承担维修责任。", 12 if self.long else 2)
            self.act("record_session", actor, date=(date(2025, 3, 10) + timedelta(days=7 * i))
                     .isoformat(), place=self.t("武林门社区调解室"),
                     participants=["张桂英", "李建华", "周建国（物业公司）", actor.full_name],
                     summary=self.t(summary),
                     outcome=self.t("各方同意委托第三方检测渗水原因，下次继续调解。"))
        return self

    def investigations(self, n: int, actor: User) -> CaseBuilder:
        """``n`` investigations."""
        for i in range(n):
            self.act("record_investigation", actor,
                     date=(date(2025, 3, 5) + timedelta(days=i)).isoformat(),
                     place=self.t("武林门新村3幢301室、402室"), people=self.t("张桂英、李建华"),
                     findings=self.t(_text("现场查看：301室卫生间吊顶有明显水渍，面积约2平方米；"
                                           "402室卫生间地面瓷砖为2024年6月新铺。", 10 if self.long else 2)))
        return self

    def attachments(self, n: int, actor: User) -> CaseBuilder:
        """``n`` attached files."""
        for i in range(n):
            self.act("attach_file", actor, filename=self.t(f"现场照片{i + 1}.jpg"),
                     description=self.t("301室卫生间吊顶渗水照片"))
        return self

    def agreement(self, *, sign: bool = True) -> CaseBuilder:
        """A complete written agreement, signed by every party and the mediator."""
        mediator = self.case.assignee or self.volunteer
        agr = Agreement(
            case_id=self.case.id, facts=self.t(_text(LONG_FACTS, 8) if self.long else LONG_FACTS),
            dispute_matters=self.t("一、渗水原因及责任承担；二、301室维修费用及装修损失的赔偿数额。"),
            responsibilities=self.t("经第三方检测，渗水系402室卫生间防水层破损及公共立管接口老化共同所致，"
                                    "第三人李建华承担主要责任，物业公司承担次要责任。"),
            performance_method=self.t("以银行转账方式支付至申请人指定账户；维修由物业公司组织施工。"),
            performance_place=self.t("武林门社区人民调解委员会调解室"),
            performance_deadline=date(2025, 4, 30), copies=4, recorder="赵丽华",
            mediator_id=mediator.id, updated_at=self.now)
        agr.terms = [
            AgreementTerm(position=0, obligor="第三人李建华",
                          content=self.t("重新做好402室卫生间防水并承担费用"),
                          due_date=date(2025, 4, 15)),
            AgreementTerm(position=1, obligor="第三人李建华",
                          content=self.t("赔偿申请人张桂英装修损失"), amount="人民币6800元",
                          due_date=date(2025, 4, 20)),
            AgreementTerm(position=2, obligor="被申请人杭州武林物业服务有限公司",
                          content=self.t("更换3幢2单元公共排水立管接口，并承担申请人吊顶修复费用"),
                          amount="人民币2200元", due_date=date(2025, 4, 30)),
            AgreementTerm(position=3, obligor="申请人张桂英",
                          content=self.t("配合施工，收到上述款项后不再就本纠纷提出其他主张")),
        ]
        self.session.add(agr)
        self.session.flush()
        self.event("agreement", "save_agreement", self.case.state, self.case.state,
                   {"revision": 1}, mediator)
        if sign:
            for p in self.case.parties:
                self.now += timedelta(minutes=20)
                agr.signatures.append(Signature(
                    signer=str(p.id), party_id=p.id,
                    method="seal" if p.kind == "organization" else "signature",
                    signed_at=self.now, recorded_by=mediator.id))
            self.now += timedelta(minutes=20)
            agr.signatures.append(Signature(signer="mediator", user_id=mediator.id,
                                            method="signature", signed_at=self.now,
                                            recorded_by=mediator.id))
            agr.effective_at = self.now
        self.session.flush()
        self.session.refresh(self.case)
        return self


def resolved_case(session: Session, cipher: FieldCipher, *, number: int = 1,
                  text: str | None = None, long: bool = False, sessions: int = 2,
                  same_month: bool = False) -> Case:
    """A whistle → grid mediation → written agreement → performed → resolved case."""
    b = CaseBuilder(session, cipher, number=number, text=text, long=long)
    b.move("accept", "grid_mediation", b.volunteer)
    b.investigations(2, b.volunteer).attachments(3, b.volunteer).sessions(sessions, b.volunteer)
    b.agreement()
    b.move("sign_agreement", "performing", b.volunteer)
    if not same_month:
        b.now = datetime(2025, 4, 2, 2, 0)
    b.act("record_judicial_confirmation", b.volunteer, court=b.t("杭州市下城区人民法院"),
          applied_on="2025-04-02", ruling=b.t("调解协议有效"), ruled_on="2025-04-09")
    if not same_month:
        b.now = datetime(2025, 5, 6, 2, 0)
    b.act("record_follow_up", b.volunteer, date="2025-05-06", method=b.t("上门回访"),
          result="performed", notes=b.t("各项条款均已履行，301室吊顶已修复，双方表示满意。"))
    b.move("confirm_performance", "resolved", b.volunteer)
    session.flush()
    return b.case


def litigation_case(session: Session, cipher: FieldCipher, *, number: int = 2,
                    text: str | None = None) -> Case:
    """Escalated, mediated at the centre without agreement: ended, routes explained."""
    b = CaseBuilder(session, cipher, number=number, text=text,
                    title="拖欠装修工程款纠纷")
    b.case.category = "合同"
    b.move("accept", "grid_mediation", b.volunteer)
    b.move("escalate", "escalated", b.volunteer, reason=b.t("涉及金额较大，网格调解未果"))
    b.case.assignee = None
    b.move("assign_center", "center_mediation", b.reviewer, mediator="chenzg")
    b.case.assignee = b.reviewer
    b.sessions(1, b.reviewer)
    b.move("end_without_agreement", "litigation", b.reviewer, routes_informed=True,
           reason=b.t("双方对工程款数额分歧较大，经三次调解仍无法达成一致。"))
    session.flush()
    return b.case


def oral_case(session: Session, cipher: FieldCipher, *, number: int = 3) -> Case:
    """A small dispute settled on the spot by an oral agreement."""
    b = CaseBuilder(session, cipher, number=number, title="楼道堆放杂物纠纷")
    b.move("accept", "grid_mediation", b.volunteer)
    b.act("register_oral_agreement", b.volunteer, date="2025-03-06",
          content="李建华于三日内清理楼道内堆放的装修材料，张桂英不再追究。")
    b.move("sign_agreement", "performing", b.volunteer)
    session.flush()
    return b.case


def signing_case(session: Session, cipher: FieldCipher, *, number: int = 4) -> Case:
    """In grid mediation with an agreement drafted but not signed by everyone."""
    b = CaseBuilder(session, cipher, number=number)
    b.move("accept", "grid_mediation", b.volunteer)
    b.agreement(sign=False)
    session.flush()
    return b.case
