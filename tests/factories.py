"""Factories: a small world of org units and users, and cases walked to any state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mediation.auth.models import User
from mediation.auth.operations import create_user, find_user
from mediation.cases.dates import china_today
from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.orgs.operations import add_org_unit
from mediation.runtime import Runtime
from mediation.timeutil import utcnow

# A date every record may carry: the day the test runs (cases are reported today).
TODAY = china_today().isoformat()

ORGS = [("D1", "测试区", "district", None), ("S1", "武林街道", "street", "D1"),
        ("C1", "红石板社区", "community", "S1"), ("G1", "一号网格", "grid", "C1"),
        ("G2", "二号网格", "grid", "C1"), ("S2", "天水街道", "street", "D1"),
        ("C2", "胭脂新村社区", "community", "S2"), ("G3", "三号网格", "grid", "C2"),
        ("D2", "邻区", "district", None), ("S9", "邻街道", "street", "D2")]

USERS = [("v1", "volunteer", "G1", "王阿姨"), ("v1b", "volunteer", "G1", "赵大伯"),
         ("v2", "volunteer", "G2", "钱师傅"), ("v3", "volunteer", "G3", "孙阿姨"),
         ("r1", "reviewer", "S1", "周主任"), ("r2", "reviewer", "S2", "吴主任"),
         ("l1", "lawyer", "D1", "郑律师"), ("l2", "lawyer", "D2", "冯律师"),
         ("r9", "reviewer", "S9", "陈主任"), ("admin", "admin", "D1", "管理员")]

PARTIES = [
    {"role": "applicant", "kind": "person", "name": "张桂芳", "sex": "女", "birth_year": 1958,
     "ethnicity": "汉族", "occupation": "退休职工", "address": "红石板社区3幢2单元401室",
     "phone": "13857112345", "id_number": "330103195803120027"},
    {"role": "respondent", "kind": "person", "name": "李建国", "sex": "男", "birth_year": 1975,
     "ethnicity": "汉族", "occupation": "个体经营", "address": "红石板社区3幢2单元501室",
     "phone": "13900001111", "id_number": "330103197501010016"},
]


def password_of(username: str) -> str:
    """The password every factory user gets."""
    return f"Pw-{username}-2026"


def case_body(**extra: Any) -> dict[str, Any]:
    """A valid case-creation body (as the API takes it)."""
    body: dict[str, Any] = {
        "workflow": "aunt_whistle", "grid": "G1", "category": "邻里", "risk_level": "medium",
        "title": "楼上卫生间漏水致楼下天花板受损",
        "description": "501室卫生间防水层老化，漏水至401室，天花板霉变，双方多次协商未果。",
        "parties": [dict(p) for p in PARTIES]}
    body.update(extra)
    return body


AGREEMENT = {
    "facts": "501室卫生间防水层老化渗漏，致401室天花板霉变。",
    "dispute_matters": "维修责任及赔偿金额。",
    "responsibilities": "501室业主对渗漏负主要责任。",
    "performance_method": "银行转账",
    "performance_place": "红石板社区人民调解委员会",
    "performance_deadline": TODAY,
    "terms": [{"obligor": "李建国", "obligee": "张桂芳", "content": "于十日内修复卫生间防水层",
               "amount": None},
              {"obligor": "李建国", "obligee": "张桂芳", "content": "赔偿张桂芳天花板修复费用",
               "amount": "2000.00"}],
}


class World:
    """Org tree and users of the contract test, plus helpers to drive cases."""

    def __init__(self, rt: Runtime):
        self.rt = rt

    def build(self) -> World:
        with self.rt.db.session() as s:
            for code, name, kind, parent in ORGS:
                add_org_unit(s, code, name=name, kind=kind, parent_code=parent)
            for username, role, org, full_name in USERS:
                create_user(s, username, role=role, org_code=org,
                            password=password_of(username), full_name=full_name)
        return self

    def user(self, session, username: str) -> User:
        user = find_user(session, username)
        assert user is not None, username
        return user

    def new_case(self, username: str = "v1", **extra: Any) -> int:
        with self.rt.db.session() as s:
            case, _ = create_case(s, self.rt.engine, case_body(**extra),
                                  actor=self.user(s, username))
            return case.id

    def fire(self, case_id: int, trigger: str, username: str | None, data: dict | None = None,
             now: datetime | None = None) -> Case:
        with self.rt.db.session() as s:
            actor = self.user(s, username) if username else None
            return self.rt.engine.fire(s, case_id, trigger, actor=actor, data=data or {},
                                       now=now).case

    def act(self, case_id: int, action: str, username: str, data: dict) -> None:
        with self.rt.db.session() as s:
            self.rt.engine.act(s, case_id, action, actor=self.user(s, username), data=data)

    def sign_all(self, case_id: int, username: str) -> None:
        with self.rt.db.session() as s:
            actor = self.user(s, username)
            save_agreement(s, self.rt.engine, case_id, dict(AGREEMENT), actor=actor)
            case = s.get(Case, case_id)
            assert case is not None
            for p in case.parties:
                add_signature(s, self.rt.engine, case_id, signer=str(p.id), method="signature",
                              signed_at=utcnow(), actor=actor)
            add_signature(s, self.rt.engine, case_id, signer="mediator", method="fingerprint",
                          signed_at=utcnow(), actor=actor)
            add_signature(s, self.rt.engine, case_id, signer="committee", method="seal",
                          signed_at=utcnow(), actor=actor)

    def case(self, case_id: int) -> Case:
        with self.rt.db.session() as s:
            case = s.get(Case, case_id)
            assert case is not None
            return case

    # Paths to each state of aunt_whistle, as (trigger, actor, data) steps.
    PATHS: dict[str, list[tuple[str, str | None, dict]]] = {
        "reported": [],
        "grid_mediation": [("accept", "v1", {})],
        "escalated": [("escalate", "v1", {"reason": "双方分歧较大"})],
        "center_mediation": [("escalate", "v1", {"reason": "分歧大"}),
                             ("assign_center", "r1", {"mediator": "r1"})],
        "legal_service": [("escalate", "v1", {"reason": "分歧大"}),
                          ("refer_legal", "r1", {"lawyer": "l1"})],
        "performing": [("accept", "v1", {}), ("@sign", "v1", {}),
                       ("sign_agreement", "v1", {})],
        "resolved": [("accept", "v1", {}), ("@sign", "v1", {}), ("sign_agreement", "v1", {}),
                     ("@follow_up", "v1", {}), ("confirm_performance", "v1", {})],
        "litigation": [("escalate", "v1", {"reason": "分歧大"}),
                       ("assign_center", "r1", {"mediator": "r1"}),
                       ("end_without_agreement", "r1",
                        {"routes_informed": True, "reason": "双方坚持诉讼"})],
        "withdrawn": [("withdraw", "v1", {"statement": "申请人撤回"})],
        "rejected": [("reject", "v1", {"reason": "已起诉至法院"})],
    }

    def walk(self, case_id: int, steps: list[tuple[str, str | None, dict]]) -> None:
        """Take ``steps``: triggers, or ``@sign`` (the agreement, signed by all) and
        ``@follow_up`` (a visit that found it performed)."""
        for trigger, who, data in steps:
            if trigger == "@sign":
                self.sign_all(case_id, who or "v1")
            elif trigger == "@follow_up":
                self.act(case_id, "record_follow_up", who or "v1",
                         {"date": TODAY, "method": "上门", "result": "performed"})
            else:
                self.fire(case_id, trigger, who, data)

    def case_in(self, state: str, **extra: Any) -> int:
        """A new case walked to ``state`` along the usual road."""
        case_id = self.new_case(**extra)
        self.walk(case_id, self.PATHS[state])
        assert self.case(case_id).state == state
        return case_id
