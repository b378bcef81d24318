"""Demo data for ``make run``: a district with streets, communities and grids, users of every
role, and realistic cases spread over every state of every workflow.

Cases are walked through the engine itself (no row is written by hand), so their trails verify
and their deadlines are real. The road to each state is found from the definition, so the demo
follows the workflow file and names no state or trigger.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from mediation.auth.models import User
from mediation.auth.operations import create_user, find_user
from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.errors import MediationError
from mediation.orgs.operations import add_org_unit
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow.definition import Definition

SESSION = "record_session"
DEMO_PASSWORD = "demo-2026"
DEFAULT_WORKFLOW = "aunt_whistle"

ORGS = [
    ("GS", "拱墅区", "district", None),
    ("WL", "武林街道", "street", "GS"), ("TS", "天水街道", "street", "GS"),
    ("HSB", "红石板社区", "community", "WL"), ("ZJC", "竹竿巷社区", "community", "WL"),
    ("YZXC", "胭脂新村社区", "community", "TS"),
    ("HSB-01", "红石板社区第一网格", "grid", "HSB"), ("HSB-02", "红石板社区第二网格", "grid", "HSB"),
    ("ZJC-01", "竹竿巷社区第一网格", "grid", "ZJC"), ("YZXC-01", "胭脂新村社区第一网格", "grid", "YZXC"),
]

USERS = [
    ("wangayi", "volunteer", "HSB-01", "王秀英", "红石板社区5幢1单元201室"),
    ("zhaodabo", "volunteer", "HSB-02", "赵德顺", "红石板社区12幢3单元502室"),
    ("sunayi", "volunteer", "ZJC-01", "孙美华", "竹竿巷社区8幢2单元101室"),
    ("qianshifu", "volunteer", "YZXC-01", "钱国强", "胭脂新村社区3幢1单元302室"),
    ("zhouzr", "reviewer", "WL", "周建平", ""),
    ("wuzr", "reviewer", "TS", "吴丽娟", ""),
    ("zhenglvshi", "lawyer", "GS", "郑明远", ""),
    ("fenglvshi", "lawyer", "GS", "冯晓云", ""),
    ("admin", "admin", "GS", "系统管理员", ""),
]

PEOPLE = ["张桂芳", "李建国", "陈玉兰", "刘志强", "杨淑珍", "黄伟", "徐海燕", "朱春生", "马丽萍",
          "胡国庆", "郭秀兰", "何建华", "林小红", "罗永福", "高文静", "梁德明"]

DISPUTES = [
    ("邻里", "楼上卫生间漏水致楼下天花板霉变", "{b}室卫生间防水层老化，漏水至楼下{a}室，天花板霉变、墙皮脱落，双方多次协商未果。"),
    ("物业", "业主拖欠物业费两年引发纠纷", "业主以电梯长期故障、保洁不到位为由拒交物业费，物业公司多次催缴无果，双方情绪对立。"),
    ("邻里", "楼道堆放杂物占用消防通道", "{b}室住户长期在楼道堆放纸箱和旧家具，邻居多次劝说未果，担心消防隐患。"),
    ("婚姻家庭", "赡养老人费用分担争执", "三兄妹对母亲住院及日常照料费用分担意见不一，老人情绪低落，向社区求助。"),
    ("劳动争议", "装修工人被拖欠工资", "装修队工人称完工两月仍未拿到工钱共计一万二千元，包工头称业主尚未结清工程款。"),
    ("邻里", "小区固定车位被长期占用", "{a}购买的地下车位经常被他人车辆占用，多次报物业无果，双方在停车场发生口角。"),
    ("损害赔偿", "宠物狗咬伤邻居小孩", "{b}家的狗未牵绳，在小区花园咬伤{a}的孙子，医疗费及后续疫苗费用赔偿未谈拢。"),
    ("房屋宅基地", "老墙改建影响邻居采光", "{b}家加装阳光房，{a}认为遮挡了自家采光和通风，要求拆除。"),
    ("消费", "社区理发店预付卡退费纠纷", "理发店更换经营者后拒绝兑现原预付卡余额，十余名老人的储值卡无法使用。"),
    ("邻里", "夜间广场舞噪音扰民", "小区广场舞队晚间音响音量过大，临近楼栋住户多次投诉，双方发生争执。"),
    ("合同", "房屋租赁押金退还纠纷", "租客退租后房东以墙面污损为由扣留全部押金三千元，租客不认可。"),
    ("婚姻家庭", "离婚后子女探视时间争议", "双方对孩子周末探视安排意见不一，多次在小区门口争吵，影响孩子情绪。"),
]

ORGANISATIONS = [("杭州红石板物业管理有限公司", "红石板社区物业服务中心", "沈国华", "总经理",
                  "91330105MA2H2K3L4" )]


def demo_id_number(rng: random.Random, region: str = "330105") -> str:
    """A resident ID number with a real birth date and a right check digit (GB 11643)."""
    born = date(rng.randint(1945, 1995), rng.randint(1, 12), rng.randint(1, 28))
    body = f"{region}{born:%Y%m%d}{rng.randint(10, 99)}{rng.randint(0, 9)}"
    return body + ric.calc_check_digit(body + "0")


def demo_credit_code(base: str) -> str:
    """``base`` (17 characters) with its GB 32100 check character."""
    return base + uscc.calc_check_digit(base)


class DemoRefused(Exception):
    """The database already holds cases."""


def _road(definition: Definition) -> dict[str, list[str]]:
    """For each state, the shortest list of triggers from the initial state (BFS)."""
    roads: dict[str, list[str]] = {definition.initial: []}
    queue = deque([definition.initial])
    while queue:
        state = queue.popleft()
        for t in definition.transitions_from(state):
            if t.dest not in roads:
                roads[t.dest] = [*roads[state], t.trigger]
                queue.append(t.dest)
    return roads


class _Walker:
    """Fires triggers as whoever may, supplying the data the definition asks for, on a clock
    that starts in the past and advances a day a step (so cases have real ages and deadlines)."""

    def __init__(self, rt: Runtime, session: Session, rng: random.Random, start: datetime):
        self.rt, self.session, self.rng = rt, session, rng
        self.now = start
        self.users = list(session.scalars(select(User).where(User.role != "admin")))

    def tick(self) -> datetime:
        """Move the clock on by about a day (never past the real now)."""
        self.now = min(utcnow(), self.now + timedelta(hours=self.rng.randint(10, 30)))
        return self.now

    def today(self) -> str:
        return (self.now + timedelta(hours=8)).date().isoformat()

    def value(self, field: str, definition: Definition, case: Case) -> Any:
        fd = definition.fields[field]
        if fd.type == "user":
            choices = [u for u in self.users if (not fd.role or u.role == fd.role)
                       and u.org_unit.contains(case.grid)]
            return self.rng.choice(choices).username if choices else None
        if fd.type == "confirm":
            return True
        if fd.type == "date":
            return self.today()
        if fd.type == "choice":
            return fd.choices[0]
        if fd.type == "names":
            return [p.name for p in case.parties]
        return {"reason": "双方分歧较大，需要上级协调", "instructions": "请网格员继续做双方工作，注意方式方法",
                "statement": "申请人表示已自行和解，申请撤回",
                "answer": "经解答，当事人表示理解"}.get(field, "经双方陈述，已了解基本情况")

    def act(self, case: Case, action: str, actor: User, data: dict[str, Any]) -> None:
        self.rt.engine.act(self.session, case.id, action, actor=actor, data=data, now=self.tick())

    def prepare(self, case: Case, definition: Definition, trigger: str, actor: User) -> None:
        """Make the guards of ``trigger`` pass, as a mediator would."""
        tdef = definition.transitions[trigger]
        if SESSION in definition.actions and definition.agreement is not None \
                and case.state in definition.agreement.states:
            self.act(case, SESSION, actor, {
                "date": self.today(), "place": case.committee.name + "调解室",
                "participants": [p.name for p in case.parties],
                "summary": "双方分别陈述了事实和诉求，调解员释法明理", "outcome": "双方同意协商解决"})
        if "agreement_in_force" in {g.name for g in tdef.guards}:
            oral = definition.word("oral_agreement")
            if self.rng.random() < 0.2 and oral is not None:
                self.act(case, oral, actor, {
                    "content": "双方口头约定由被申请人三日内修复并当面致歉", "date": self.today()})
            else:
                self.sign(case, actor)
        if "follow_up_performed" in {g.name for g in tdef.guards}:
            confirmation = definition.word("judicial_confirmation")
            written = case.agreement is not None and case.agreement.status == "in_force"
            if confirmation and written and case.id % 2:
                self.act(case, confirmation, actor, {
                    "court": "杭州市拱墅区人民法院", "applied_on": self.today()})
            follow_up, performed = definition.word("follow_up"), definition.choice("performed")
            if follow_up and performed:
                self.act(case, follow_up, actor, {
                    "date": self.today(), "method": "上门回访", performed[0]: performed[1],
                    "notes": "双方均表示协议已履行完毕"})

    def sign(self, case: Case, actor: User) -> None:
        parties = case.parties
        debtor = parties[-1]
        due = (self.now + timedelta(days=10)).date()
        save_agreement(self.session, self.rt.engine, case.id, {
            "facts": case.description,
            "dispute_matters": "责任承担及赔偿金额",
            "responsibilities": f"{debtor.name}对纠纷的发生负主要责任。",
            "performance_method": "银行转账及当面履行",
            "performance_place": case.committee.name + "人民调解委员会",
            "performance_deadline": due,
            "recorder": self.rng.choice(["林小红", "高文静", "梁德明"]),
            "terms": [{"obligor": str(debtor.id), "obligee": str(parties[0].id),
                       "content": "向对方当面赔礼道歉，并停止侵害、消除影响", "due_date": due},
                      {"obligor": str(debtor.id), "obligee": str(parties[0].id),
                       "content": "一次性支付补偿款",
                       "amount": str(self.rng.choice([800, 1500, 2000, 3600])) + ".00",
                       "due_date": due}],
        }, actor=actor, now=self.tick())
        for p in parties:
            add_signature(self.session, self.rt.engine, case.id, signer=str(p.id),
                          method=self.rng.choice(["signature", "fingerprint"]),
                          signed_at=self.now, actor=actor, now=self.now)
        add_signature(self.session, self.rt.engine, case.id, signer="mediator",
                      method="signature", signed_at=self.now, actor=actor, now=self.now)
        add_signature(self.session, self.rt.engine, case.id, signer="committee",
                      method="seal", signed_at=self.now, actor=actor, now=self.now)

    def fire(self, case: Case, definition: Definition, trigger: str) -> bool:
        """Fire ``trigger`` as the first user who may; False if nobody may."""
        for actor in self.users:
            allowed = {t.trigger for t in self.rt.engine.available_triggers(self.session, case, actor)}
            if trigger not in allowed:
                continue
            tdef = definition.transitions[trigger]
            self.prepare(case, definition, trigger, actor)
            data = {f: self.value(f, definition, case) for f in tdef.requires}
            try:
                self.rt.engine.fire(self.session, case.id, trigger, actor=actor, data=data,
                                    now=self.tick())
            except MediationError:
                continue
            return True
        return False


def fill(rt: Runtime, count: int, seed: int = 2026) -> str:
    """Create the demo district, users and ``count`` cases; refuse if cases exist."""
    rng = random.Random(seed)
    with rt.db.session() as session:
        if session.scalar(select(func.count()).select_from(Case)):
            raise DemoRefused("the database already holds cases; demo fills an empty one")
        if find_user(session, "admin") is None:
            for code, name, kind, parent in ORGS:
                add_org_unit(session, code, name=name, kind=kind, parent_code=parent)
            for username, role, org, full_name, address in USERS:
                create_user(session, username, role=role, org_code=org, password=DEMO_PASSWORD,
                            full_name=full_name, address=address)
    made: dict[str, int] = {}
    for n in range(count):
        with rt.db.session() as session:
            # Every twelfth case is of another workflow (the consultation desk), the rest are
            # disputes of the default one; each walks to the next state of its workflow.
            others = [d for d in rt.store.all_current() if d.name != DEFAULT_WORKFLOW]
            if n % 12 == 11 and others:
                definition, k = others[n // 12 % len(others)], n // 12 // len(others)
            else:
                definition, k = rt.store.current(DEFAULT_WORKFLOW), n - n // 12
            roads = _road(definition)
            states = list(roads)
            target = states[k % len(states)]
            # Reported a day or two a step ago; one case in five long ago (now overdue, or
            # escalated by the deadline sweep at the end).
            age = timedelta(days=2 * len(roads[target]) + rng.randint(0, 2),
                            hours=rng.randint(0, 20))
            if n % 5 == 4:
                age += timedelta(days=30)
            walker = _Walker(rt, session, rng, utcnow() - age)
            grid_users = [u for u in walker.users if u.role == "volunteer"]
            reporter = grid_users[n % len(grid_users)]
            category, title, text = DISPUTES[n % len(DISPUTES)]
            a, b = rng.sample(PEOPLE, 2)
            addr = reporter.org_unit.parent.name if reporter.org_unit.parent else ""
            parties: list[dict[str, Any]] = [
                # sex and year of birth come from the ID number
                {"role": "applicant", "kind": "person", "name": a, "ethnicity": "汉族",
                 "occupation": rng.choice(["退休职工", "个体经营", "教师", "公司职员"]),
                 "address": f"{addr}{rng.randint(1, 20)}幢{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室",
                 "phone": f"13{rng.randint(100000000, 999999999)}",
                 "id_number": demo_id_number(rng)},
            ]
            if category == "物业":
                org_name, address, rep, rep_title, code = ORGANISATIONS[0]
                parties.append({"role": "respondent", "kind": "organization", "name": org_name,
                                "address": address, "legal_representative": rep,
                                "representative_title": rep_title, "phone": "057188001234",
                                "credit_code": demo_credit_code(code)})
            else:
                parties.append({"role": "respondent", "kind": "person", "name": b,
                                "sex": rng.choice("男女"), "birth_year": rng.randint(1950, 2000),
                                "ethnicity": "汉族", "occupation": "自由职业",
                                "address": f"{addr}{rng.randint(1, 20)}幢{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室",
                                "phone": f"15{rng.randint(100000000, 999999999)}"})
            body = {"workflow": definition.name, "grid": reporter.org_unit.code,
                    "category": category,
                    # a few whistles are high-risk (the system escalates them at once)
                    "risk_level": "high" if target == definition.initial and n % 3 == 0
                    else rng.choice(["low", "medium", "medium", "low"]),
                    "title": title, "description": text.format(a=a, b=b),
                    "source": rng.choice(["whistle", "whistle", "application", "referral"]),
                    "parties": parties}
            case, _ = create_case(session, rt.engine, body, actor=reporter, now=walker.now)
            for trigger in roads[target]:
                if not walker.fire(case, definition, trigger):
                    break
            session.refresh(case)
            made[case.state] = made.get(case.state, 0) + 1
    swept = rt.engine.sweep(rt.db)  # reminders, overdue flags, auto-escalations due by now
    with rt.db.session() as session:
        made = dict(Counter(session.scalars(select(Case.state))))
    lines = [f"demo: {count} cases ({swept.fired} deadlines swept); users (password "
             f"{DEMO_PASSWORD}): "
             + ", ".join(f"{u[0]} ({u[1]})" for u in USERS)]
    lines += [f"  {state}: {n}" for state, n in sorted(made.items())]
    return "\n".join(lines)
