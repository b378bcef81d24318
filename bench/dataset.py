"""Large realistic datasets, built fast (P10 is the time this takes).

1. An org tree of a city — districts, streets, communities (people's mediation committees),
   grids — with a volunteer per grid, reviewers per street, lawyers per district, an admin,
   made with the real operations.
2. Template cases, walked by the real engine along every road of ``aunt_whistle`` (whistle,
   acceptance, sessions, escalation, the centre, legal aid, agreements with every signature,
   breaches, follow-up visits, judicial confirmation, withdrawals, refusals, litigation) over
   simulated days: every row they leave (case, parties, events, deadlines, agreement, terms,
   signatures) is what the app writes.
3. The bulk path: each of the N cases is a copy of a template (the mix of states of a mature
   year), moved to a random grid of the city and a random time of the year, with its own
   title, description and parties' names (from a generator of realistic disputes), its own
   case number, the template's users replaced by the grid's, and its hash chain recomputed
   with the new content. Rows are written with COPY (PostgreSQL) or ``executemany`` in large
   transactions (SQLite). Tables are found from the models (any table hanging on ``cases``),
   so the copy follows the schema as it changes.

Every copied chain verifies (``mediation audit verify``); ``check(url)`` verifies a sample.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import multiprocessing
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Date, DateTime, String, Table, func, select, text
from sqlalchemy.engine import Connection

from bench.common import cheap_passwords
from mediation.auth.models import User
from mediation.auth.operations import create_user
from mediation.cases.models import CATEGORIES, Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.cases.search import grams
from mediation.db import Base
from mediation.orgs.models import OrgUnit
from mediation.orgs.operations import add_org_unit
from mediation.runtime import Runtime
from mediation.timeutil import iso, utcnow
from mediation.workflow.audit import GENESIS, canonical

# Tables a copy leaves out: outside the case, or made by jobs (PDFs, the outbox).
SKIP = {"outbox", "rendered_documents", "pii_access", "idempotency_keys", "incidents"}

# -- realistic text --------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "桂芳建国秀英志强丽娟德顺美华国强明远晓云海燕卫东玉兰春梅红霞永刚伟军淑珍凤英文杰子涵雨轩浩然欣怡梓萱俊杰思远金花宝林长生福根阿毛招娣佩琴雪琴立新跃进"
ROADS = ["体育场路", "中山北路", "湖墅南路", "莫干山路", "大关路", "文一路", "德胜路", "上塘路",
         "环城北路", "香积寺路", "小河路", "和睦路", "登云路", "丽水路", "康桥路", "半山路"]
ESTATES = ["红石板小区", "竹竿巷小区", "胭脂新村", "朝晖一区", "朝晖三区", "潮鸣苑", "建国北苑",
           "长庆街区", "贾家弄小区", "刀茅巷小区", "艮山门小区", "和平新村", "大塘新村", "德胜新村"]

# Per category: (title patterns, description patterns); {a} {b} are the parties, {e} an estate,
# {bld} {unit} {room} an address, {amt} an amount, {plate} a plate, {road} a road.
SCENARIOS: dict[str, tuple[list[str], list[str]]] = {
    "邻里": (["楼上卫生间漏水致楼下天花板受损", "{e}{bld}幢楼道堆放杂物引发争执", "装修噪音扰民邻里纠纷",
            "空调外机噪音影响休息", "宠物狗夜间吠叫扰邻", "阳台晾衣滴水纠纷", "共用走廊被占用"],
           ["{b}家（{bld}幢{unit}单元{room}室）卫生间防水层老化，渗漏至楼下{a}家，天花板霉变脱落，双方多次协商未果。",
            "{a}反映{b}在楼道内长期堆放旧家具和纸板，影响通行并存在消防隐患，{b}认为已占用多年且未影响他人。",
            "{b}家装修期间周末早上七点即开始电钻作业，{a}多次上门沟通未果，情绪激动，网格员及时介入。",
            "{a}称{b}家空调外机正对其卧室窗户，夜间噪音明显，要求移机，{b}以安装位置为物业指定为由拒绝。"]),
    "物业": (["物业费拖欠纠纷", "小区停车管理费争议", "电梯维修费用分摊纠纷", "物业服务质量投诉引发欠费"],
           ["业主{a}认为物业服务不到位（垃圾清运不及时、绿化无人养护），拒交{amt}元物业费，物业公司催缴未果。",
            "{e}{bld}幢电梯大修需分摊费用{amt}元，低层业主{a}认为不应分摊，与楼长{b}发生争执。",
            "物业公司调整停车管理费，业主{a}等人不认可，拒绝缴纳，并与保安发生口角。"]),
    "婚姻家庭": (["赡养老人费用分担纠纷", "夫妻感情纠纷家庭矛盾", "遗产继承房屋分割纠纷", "子女抚养费纠纷"],
             ["{a}年过八旬，膝下子女{b}等人对赡养费用分担意见不一，老人独居生活困难，社区网格员上门了解情况。",
              "{a}与{b}因家庭琐事长期争吵，近日发生推搡，邻居报告网格员，双方均有调解意愿。",
              "父母去世后留下{e}{bld}幢住房一套，兄妹{a}、{b}对房屋分割及补偿款{amt}元意见分歧较大。"]),
    "劳动争议": (["拖欠农民工工资纠纷", "装修工人工资结算争议", "工伤赔偿协商纠纷", "辞退补偿金争议"],
             ["{a}等五名工人在{road}工地务工三个月，包工头{b}以工程款未到位为由拖欠工资{amt}元。",
              "{a}为{b}家装修，完工后双方对增项费用{amt}元结算产生分歧，{b}拒付尾款。",
              "{a}在{road}一家餐馆工作期间烫伤，要求店主{b}赔偿医疗费及误工费共{amt}元。"]),
    "房屋宅基地": (["房屋租赁押金退还纠纷", "违章搭建影响采光纠纷", "房屋买卖过户纠纷"],
              ["租客{a}退租时房东{b}以墙面损坏为由扣留押金{amt}元，{a}认为属正常使用损耗。",
               "{b}在{e}{bld}幢一楼院内搭建阳光房，遮挡二楼{a}家采光，双方协商未果。"]),
    "损害赔偿": (["电动车碰撞致人受伤赔偿纠纷", "高空坠物砸坏车辆", "宠物咬伤赔偿纠纷"],
             ["{b}骑电动车在{road}与步行的{a}相撞，致{a}腿部受伤，医疗费{amt}元，双方对责任比例有争议。",
              "{e}{bld}幢高空坠落花盆砸中{a}停放的车辆（车牌{plate}），经查为{b}家阳台花盆。",
              "{b}饲养的犬只在小区内咬伤{a}，{a}要求赔偿疫苗费和误工费{amt}元。"]),
    "合同": (["装修合同质量纠纷", "家电维修费用纠纷", "借款合同还款纠纷"],
           ["{a}与{b}签订装修合同，竣工后出现墙面开裂、地砖空鼓，{a}要求返工并赔偿{amt}元。",
            "{b}向{a}借款{amt}元，约定半年归还，逾期后多次催讨未还。"]),
    "消费": (["预付卡退费纠纷", "网购商品质量争议"],
           ["{a}在{road}一家健身房办理预付卡{amt}元，后门店停业，经营者{b}拒绝退费。",
            "{a}购买的电动自行车电池三个月即损坏，商家{b}拒绝按三包规定更换。"]),
    "道路交通": (["小区内车辆剐蹭纠纷", "占用他人车位纠纷"],
             ["{a}停放在{e}的车辆（车牌{plate}）被{b}倒车时剐蹭，双方对维修费{amt}元有争议。",
              "{b}长期将车辆停放在{a}购买的{bld}号车位上，多次沟通无果。"]),
    "生产经营": (["沿街商铺油烟扰民纠纷", "小作坊噪音污染纠纷"],
             ["{road}沿街餐馆油烟直排，楼上住户{a}等人多次投诉，店主{b}称已安装净化设备。"]),
    "其他": (["社区公共设施使用纠纷", "广场舞噪音扰民"],
           ["{e}广场舞队每晚音响声音过大，附近居民{a}与领队{b}发生争执。"]),
}
CATEGORY_WEIGHTS = {"邻里": 30, "物业": 16, "婚姻家庭": 12, "劳动争议": 8, "房屋宅基地": 7,
                    "损害赔偿": 8, "合同": 6, "消费": 4, "道路交通": 5, "生产经营": 2, "其他": 2}


class Texts:
    """Realistic titles, descriptions and names from a seeded generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.categories = [c for c in CATEGORY_WEIGHTS if c in CATEGORIES]
        self.weights = [CATEGORY_WEIGHTS[c] for c in self.categories]

    def name(self) -> str:
        """A person's name."""
        r = self.rng
        given = GIVEN[r.randrange(0, len(GIVEN) - 1, 2):][:2] if r.random() < 0.7 else r.choice(GIVEN)
        return r.choice(SURNAMES) + given

    def case(self) -> tuple[str, str, str, list[str]]:
        """(category, title, description, party names)."""
        r = self.rng
        category = r.choices(self.categories, self.weights)[0]
        titles, descriptions = SCENARIOS[category]
        a, b = self.name(), self.name()
        slots = {"a": a, "b": b, "e": r.choice(ESTATES), "bld": r.randint(1, 40),
                 "unit": r.randint(1, 4), "room": f"{r.randint(1, 18)}0{r.randint(1, 4)}",
                 "amt": f"{r.randint(5, 800) * 100:,}", "road": r.choice(ROADS),
                 "plate": f"浙A{r.choice('BCDFGHJK')}{r.randint(1000, 9999)}"}
        return (category, r.choice(titles).format(**slots), r.choice(descriptions).format(**slots),
                [a, b])


# -- the org tree ----------------------------------------------------------------------------

@dataclass
class Grid:
    """A grid and the people around it."""

    id: int
    code: str
    community: int
    street: int
    district: int
    committee_short: str
    volunteer: tuple[int, str]
    reviewer: tuple[int, str]
    lawyer: tuple[int, str]


@dataclass
class City:
    """The org tree of the dataset."""

    grids: list[Grid]
    district_codes: list[str]
    street_codes: list[str]
    admin: tuple[int, str]


def build_city(rt: Runtime, districts: int, streets: int, communities: int, grids: int) -> City:
    """``districts`` × ``streets`` × ``communities`` × ``grids`` units with their people."""
    cheap_passwords()
    rng = random.Random(7)
    out: list[Grid] = []
    dcodes, scodes = [], []
    with rt.db.session() as s:
        for d in range(districts):
            dc = f"D{d:02d}"
            dcodes.append(dc)
            add_org_unit(s, dc, name=f"第{d + 1}区", kind="district")
            create_user(s, f"lawyer_{dc}".lower(), role="lawyer", org_code=dc, password="bench-pass",
                        full_name=f"律师{d}")
            for st in range(streets):
                sc = f"{dc}S{st:02d}"
                scodes.append(sc)
                add_org_unit(s, sc, name=f"{rng.choice(ROADS)[:2]}{st}街道", kind="street",
                             parent_code=dc)
                create_user(s, f"rev_{sc}".lower(), role="reviewer", org_code=sc, password="bench-pass",
                            full_name=f"审查员{sc}")
                for c in range(communities):
                    cc = f"{sc}C{c:02d}"
                    short = f"{ESTATES[c % len(ESTATES)][:2]}{d}{st}{c}"
                    add_org_unit(s, cc, name=f"{short}社区", kind="community", parent_code=sc,
                                 short_name=short)
                    for g in range(grids):
                        gc = f"{cc}G{g:02d}"
                        add_org_unit(s, gc, name=f"{short}第{g + 1}网格", kind="grid",
                                     parent_code=cc)
                        create_user(s, f"vol_{gc}".lower(), role="volunteer", org_code=gc,
                                    password="bench-pass", full_name=f"志愿者{gc}")
        create_user(s, "bench_admin", role="admin", org_code="D00", password="bench-pass",
                    full_name="管理员")
    with rt.db.session() as s:
        units = {u.code: u for u in s.scalars(select(OrgUnit))}
        users = {u.username: u.id for u in s.scalars(select(User))}
        for code, unit in units.items():
            if unit.kind != "grid" or not code.startswith("D"):
                continue
            comm = unit.ancestor("community")
            street = unit.ancestor("street")
            dist = unit.ancestor("district")
            assert comm and street and dist
            out.append(Grid(
                id=unit.id, code=code, community=comm.id, street=street.id, district=dist.id,
                committee_short=comm.short_name or comm.name,
                volunteer=(users[f"vol_{code}".lower()], f"vol_{code}".lower()),
                reviewer=(users[f"rev_{street.code}".lower()], f"rev_{street.code}".lower()),
                lawyer=(users[f"lawyer_{dist.code}".lower()], f"lawyer_{dist.code}".lower())))
    return City(out, dcodes, scodes, (users["bench_admin"], "bench_admin"))


# -- templates: the engine walks every road ------------------------------------------------

# A step: ("fire", trigger, role, data) / ("act", action, role, data) / ("sign", role) /
# ("wait", hours). Roles: V volunteer, R reviewer, L lawyer.
SESSION = {"date": "@date", "place": "社区调解室", "participants": ["@a", "@b"],
           "summary": "双方陈述各自意见，调解员释法说理，双方情绪趋于平稳", "outcome": "双方同意继续协商"}
INVESTIGATION = {"date": "@date", "place": "现场", "people": "双方当事人、楼长",
                 "findings": "现场查看属实，渗漏点位于卫生间地面"}
FOLLOW_UP = {"date": "@date", "method": "上门回访", "result": "performed", "notes": "协议已履行完毕"}
NOTE = {"text": "已电话联系双方，约定本周内调解"}
CALL = ("act", "add_note", "V", {"text": "电话回访申请人，了解最新情况，情绪稳定"})
VISIT = ("act", "add_note", "V", {"text": "入户走访被申请人，听取其意见并做思想工作"})


def _road(*steps: Any) -> list[Any]:
    return list(steps)


ACCEPT = ("fire", "accept", "V", {})
ESCALATE = ("fire", "escalate", "V", {"reason": "双方分歧较大，网格调解未果"})
CENTER = ("fire", "assign_center", "R", {"mediator": "@R"})
LEGAL = ("fire", "refer_legal", "R", {"lawyer": "@L"})


def _sess(role: str) -> tuple[str, str, str, dict[str, Any]]:
    return ("act", "record_session", role, SESSION)


def _signed(role: str) -> list[Any]:
    return [("sign", role), ("wait", 20), ("fire", "sign_agreement", role, {})]


def _closed_ok(role: str) -> list[Any]:
    return [("wait", 24 * 8), CALL, ("act", "record_follow_up", role, FOLLOW_UP),
            ("fire", "confirm_performance", role, {})]


# (name, final state, share of the dataset in a mature year, steps)
PATHS: list[tuple[str, str, float, list[Any]]] = [
    ("reported", "reported", 0.03, [("act", "add_note", "V", NOTE)]),
    ("rejected", "rejected", 0.04, [("fire", "reject", "V", {"reason": "已向法院起诉，不属人民调解受理范围"})]),
    ("withdrawn", "withdrawn", 0.06, [ACCEPT, _sess("V"),
                                      ("fire", "withdraw", "V", {"statement": "申请人自愿撤回调解申请"})]),
    ("grid", "grid_mediation", 0.11, [ACCEPT, CALL, ("act", "record_investigation", "V", INVESTIGATION),
                                      ("wait", 24), VISIT, _sess("V"), CALL]),
    ("escalated", "escalated", 0.03, [ACCEPT, _sess("V"), ("wait", 48), ESCALATE]),
    ("center", "center_mediation", 0.05, [ACCEPT, CALL, _sess("V"), ESCALATE, ("wait", 24), CENTER,
                                          _sess("R"), CALL]),
    ("legal", "legal_service", 0.02, [ESCALATE, ("wait", 24), LEGAL, _sess("L")]),
    ("performing", "performing", 0.08, [ACCEPT, CALL, ("act", "record_investigation", "V", INVESTIGATION),
                                        VISIT, _sess("V"), ("wait", 48), CALL, _sess("V"), *_signed("V")]),
    ("resolved_grid", "resolved", 0.30, [ACCEPT, CALL, ("act", "record_investigation", "V", INVESTIGATION),
                                         VISIT, _sess("V"), ("act", "add_note", "V", NOTE), ("wait", 72),
                                         CALL, _sess("V"), *_signed("V"), *_closed_ok("V")]),
    ("resolved_center", "resolved", 0.14, [ACCEPT, CALL, _sess("V"), VISIT, ("wait", 24 * 5), ESCALATE,
                                           ("wait", 24), CENTER, _sess("R"), ("wait", 72), CALL,
                                           _sess("R"), *_signed("R"), *_closed_ok("R")]),
    ("resolved_legal", "resolved", 0.04, [ACCEPT, CALL, ESCALATE, ("wait", 24), LEGAL, _sess("L"),
                                          ("wait", 24 * 6), _sess("L"), *_signed("L"),
                                          ("act", "record_judicial_confirmation", "L",
                                           {"court": "拱墅区人民法院", "applied_on": "@date"}),
                                          *_closed_ok("L")]),
    ("resolved_breach", "resolved", 0.04, [ACCEPT, _sess("V"), *_signed("V"), ("wait", 24 * 10),
                                           ("fire", "report_breach", "V", {"reason": "被申请人未按期履行赔偿义务"}),
                                           CENTER, _sess("R"), *_signed("R"), *_closed_ok("R")]),
    ("litigation", "litigation", 0.06, [ACCEPT, CALL, _sess("V"), VISIT, ESCALATE, CENTER, _sess("R"),
                                        ("wait", 24 * 12),
                                        ("fire", "end_without_agreement", "R",
                                         {"routes_informed": True, "reason": "双方分歧过大，告知其可向法院起诉"})]),
]
OPEN_STATES = {"reported", "grid_mediation", "escalated", "center_mediation", "legal_service",
               "performing"}
AGREEMENT = {
    "facts": "@desc", "dispute_matters": "赔偿金额及履行期限", "responsibilities": "被申请人负主要责任",
    "performance_method": "银行转账", "performance_place": "社区调解室",
    "performance_deadline": "@due",
    "terms": [{"obligor": "@b", "obligee": "@a", "content": "于十日内修复并赔偿损失", "amount": "2000.00"},
              {"obligor": "@b", "obligee": "@a", "content": "今后注意避免类似情况发生", "amount": None}],
}


@dataclass
class Template:
    """An engine-made case to copy."""

    case_id: int
    road: str
    state: str
    share: float
    created_at: datetime
    last_at: datetime
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _fill(value: Any, ctx: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return ctx[value[1:]]
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    return value


def make_templates(rt: Runtime, city: City, copies: int = 2) -> list[Template]:
    """Walk ``copies`` cases along every road with the real engine, in the city's first grid,
    over simulated days ending now."""
    grid = city.grids[0]
    texts = Texts(random.Random(11))
    out = []
    for road, state, share, steps in PATHS:
        for _ in range(copies):
            hours = sum(s[1] for s in steps if s[0] == "wait") + 2 * len(steps) + 2
            start = utcnow() - timedelta(hours=hours + 1)
            case_id, last = _walk(rt, grid, texts, steps, start)
            out.append(Template(case_id, road, state, share / copies, start, last))
    with rt.db.session() as s:
        for t in out:
            case = s.get(Case, t.case_id)
            assert case is not None and case.state == t.state, (t.road, case and case.state)
    return out


def _walk(rt: Runtime, grid: Grid, texts: Texts, steps: list[Any],
          start: datetime) -> tuple[int, datetime]:
    category, title, desc, (a, b) = texts.case()
    users = {"V": grid.volunteer[1], "R": grid.reviewer[1], "L": grid.lawyer[1]}
    now = start
    with rt.db.session() as s:
        actor = s.scalar(select(User).where(User.username == users["V"]))
        body = {"workflow": "aunt_whistle", "grid": grid.code, "category": category,
                "risk_level": "medium", "title": title, "description": desc,
                "parties": [{"role": "applicant", "kind": "person", "name": a, "sex": "女",
                             "birth_year": 1958, "phone": "13857112345",
                             "address": "3幢2单元401室"},
                            {"role": "respondent", "kind": "person", "name": b, "sex": "男",
                             "birth_year": 1975, "phone": "13900001111",
                             "address": "3幢2单元501室"}]}
        case, _ = create_case(s, rt.engine, body, actor=actor, now=now)
        case_id = case.id
    ctx = {"a": a, "b": b, "desc": desc, "R": users["R"], "L": users["L"]}
    for step in steps:
        now += timedelta(hours=2)
        if step[0] == "wait":
            now += timedelta(hours=step[1])
            continue
        ctx["date"] = (now + timedelta(hours=8)).date().isoformat()  # the China date
        ctx["due"] = (now + timedelta(days=10)).date().isoformat()
        with rt.db.session() as s:
            actor = s.scalar(select(User).where(User.username == users[step[-1] if step[0] == "sign"
                                                                       else step[2]]))
            if step[0] == "fire":
                rt.engine.fire(s, case_id, step[1], actor=actor, data=_fill(step[3], ctx), now=now)
            elif step[0] == "act":
                rt.engine.act(s, case_id, step[1], actor=actor, data=_fill(step[3], ctx), now=now)
            else:
                _sign(rt, s, case_id, actor, ctx, now)
    return case_id, now


def _sign(rt: Runtime, s: Any, case_id: int, actor: User, ctx: dict[str, str],
          now: datetime) -> None:
    save_agreement(s, rt.engine, case_id, _fill(AGREEMENT, ctx), actor=actor)
    case = s.get(Case, case_id)
    signers = [str(p.id) for p in case.parties] + ["mediator", "committee"]
    for signer in signers:
        method = "seal" if signer == "committee" else "signature"
        try:
            with s.begin_nested():
                add_signature(s, rt.engine, case_id, signer=signer, method=method,
                              signed_at=min(now, utcnow()), actor=actor)
        except Exception:
            if signer != "committee":  # a committee seal is not asked for by every version
                raise


# -- copying ---------------------------------------------------------------------------------

def case_tables() -> list[Table]:
    """Tables whose rows belong to one case (through foreign keys), in dependency order."""
    import mediation.models  # noqa: F401

    owned = {"cases"}
    changed = True
    tables = Base.metadata.sorted_tables
    while changed:
        changed = False
        for t in tables:
            if t.name in owned or t.name in SKIP:
                continue
            if any(fk.column.table.name in owned for fk in t.foreign_keys
                   if fk.parent.name != "origin_case_id"):
                owned.add(t.name)
                changed = True
    return [t for t in tables if t.name in owned]


def load_template_rows(conn: Connection, templates: list[Template]) -> None:
    """Read every row of each template (per case table)."""
    tables = case_tables()
    for t in templates:
        ids: dict[str, set[Any]] = {"cases": {t.case_id}}
        for table in tables:
            clauses = []
            for fk in table.foreign_keys:
                target = fk.column.table.name
                if target in ids and fk.parent.name != "origin_case_id" and table.name != target:
                    clauses.append(fk.parent.in_(ids[target]))
            if table.name == "cases":
                clauses = [table.c.id == t.case_id]
            if not clauses:
                continue
            from sqlalchemy import or_

            rows = [dict(r._mapping) for r in conn.execute(select(table).where(or_(*clauses)))]
            t.rows[table.name] = rows
            pk = list(table.primary_key.columns)
            if len(pk) == 1:
                ids[table.name] = {r[pk[0].name] for r in rows}


@dataclass
class Plan:
    """How the N cases are spread."""

    n: int
    year_days: int = 365
    open_recent_days: int = 10
    only_open: bool = False
    seed: int = 42


class Copier:
    """Makes the rows of case copies, as tuples per table in column order.

    Per template, what does not change between copies is worked out once: each event's
    canonical text (what its hash covers) and stored data with the copy-specific strings
    (title, description, names, users, grid, case number) to be substituted, its time as an
    offset. A copy then costs a substitution and a SHA-256 per event.
    """

    def __init__(self, city: City, templates: list[Template], start_ids: dict[str, int],
                 plan: Plan, now: datetime, dialect: str):
        self.city = city
        self.tables = case_tables()
        self.tables_by_name = {t.name: t for t in self.tables}
        self.sqlite = dialect == "sqlite"
        self.templates = [t for t in templates if not plan.only_open or t.state in OPEN_STATES]
        total = sum(t.share for t in self.templates)
        self.weights = [t.share / total for t in self.templates]
        self.next_id = dict(start_ids)
        self.plan = plan
        self.now = now
        self.rng = random.Random(plan.seed)
        self.texts = Texts(random.Random(plan.seed + 1))
        self.counters: dict[tuple[int, int, str], int] = defaultdict(int)
        self.tpl_grid = city.grids[0]
        self.columns = {t.name: [c.name for c in t.columns] for t in self.tables}
        self.head_ix = self.columns["cases"].index("chain_head")
        self.json_cols = {t.name: {c.name for c in t.columns if isinstance(c.type, JSON)}
                          for t in self.tables}
        self.date_cols = {t.name: [c.name for c in t.columns if isinstance(c.type, DateTime)]
                          for t in self.tables}
        self.day_cols = {t.name: [c.name for c in t.columns if isinstance(c.type, Date)]
                         for t in self.tables}
        self.fks = {t.name: [(fk.parent.name, fk.column.table.name) for fk in t.foreign_keys]
                    for t in self.tables}
        self.pks = {t.name: (next(iter(t.primary_key.columns)).name
                             if len(t.primary_key.columns) == 1 else None) for t in self.tables}
        self.recipes = {id(t): self._recipe(t) for t in self.templates}

    def _recipe(self, tpl: Template) -> dict[str, Any]:
        """What every copy of ``tpl`` shares."""
        tg = self.tpl_grid
        tcase = tpl.rows["cases"][0]
        keys: dict[str, str] = {"title": tcase["title"], "description": tcase["description"],
                                "vol": tg.volunteer[1], "rev": tg.reviewer[1],
                                "law": tg.lawyer[1], "grid": tg.code}
        for i, party in enumerate(tpl.rows.get("parties", [])):
            keys[f"party{i}"] = party["name"]
        for col in ("case_no", "report_no"):
            if tcase.get(col):
                keys[col] = tcase[col]
        esc = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in keys.items() if v}
        order = sorted(esc, key=lambda k: len(esc[k]), reverse=True)
        rx = re.compile("|".join(re.escape(esc[k]) for k in order))
        by_text = {esc[k]: k for k in order}
        events = []
        base = tcase["created_at"]
        for ev in sorted(tpl.rows.get("events", []), key=lambda e: e["seq"]):
            at_iso = iso(ev["at"])
            # the event's own columns as the chain covers them (whatever they are now)
            fields = {k: ev[k] for k in _CANONICAL_ARGS if k in ev}
            canon = canonical(_case_ref(tcase), **fields).decode()
            assert at_iso is not None and canon.count(at_iso) == 1
            assert at_iso == ev["at"].isoformat(timespec="microseconds") + "Z"
            events.append({"base": [ev.get(c) for c in self.columns["events"]],
                           "offset": ev["at"] - base,
                           "canon": _pieces(rx, canon.replace(at_iso, "\x00"), by_text),
                           "data": _pieces(rx, json.dumps(ev["data"], ensure_ascii=False),
                                           by_text),
                           "actor": ev["actor"]})
        cols = self.columns["events"]
        fixed = {"id", "case_id", "at", "actor", "data", "prev_hash", "hash"}
        return {"rx": rx, "esc": esc, "events": events, "case_id": tcase["id"],
                "ix": {c: cols.index(c) for c in fixed},
                # other text columns may name people (the handler): replaced like the actor
                "names": [i for i, c in enumerate(cols) if c not in fixed
                          and isinstance(self.tables_by_name["events"].c[c].type, String)],
                "plans": self._plans(tpl)}

    def copies(self, count: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """Batches of rows (per table) of ``count`` new cases, a batch per 5,000."""
        batch: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for i in range(count):
            tpl = self.rng.choices(self.templates, self.weights)[0]
            self.copy(tpl, batch)
            if (i + 1) % 5000 == 0:
                yield batch
                batch = defaultdict(list)
        if batch:
            yield batch

    def _shift(self, tpl: Template) -> timedelta:
        span = tpl.last_at - tpl.created_at
        if tpl.state in OPEN_STATES:
            # recent, and no pending deadline due yet (a swept steady state)
            pending = [d["due_at"] for d in tpl.rows.get("deadlines", [])
                       if d.get("fired_at") is None and d.get("cancelled_at") is None]
            slack = min(pending, default=tpl.last_at + timedelta(days=365)) - tpl.last_at
            hours = min(24 * self.plan.open_recent_days, slack.total_seconds() / 3600 * 0.9)
            latest = self.now - timedelta(hours=self.rng.uniform(0.05, max(hours, 0.1)))
        else:
            latest = self.now - timedelta(days=self.rng.uniform(0, self.plan.year_days)) + span
            latest = min(latest, self.now - timedelta(minutes=5))
        return latest - tpl.last_at

    def _value(self, table: str, col: str, value: Any) -> Any:
        if value is None:
            return None
        if col in self.json_cols[table]:
            return json.dumps(value, ensure_ascii=False)
        if self.sqlite:
            if isinstance(value, datetime):
                return value.isoformat(" ", "microseconds")
            if isinstance(value, date):
                return value.isoformat()
        return value

    def _plans(self, tpl: Template) -> dict[str, list[tuple[list[Any], list[tuple[int, str, Any]]]]]:
        """Per table, per template row: the values that stay (converted for the database) and
        the operations that make a copy's row (column index, kind, argument)."""
        plans: dict[str, list[tuple[list[Any], list[tuple[int, str, Any]]]]] = {}
        tg = self.tpl_grid
        users = {tg.volunteer[0], tg.reviewer[0], tg.lawyer[0]}
        units = {tg.id, tg.community, tg.street, tg.district}
        for table in self.tables:
            tname = table.name
            if tname == "events":
                continue
            cols = self.columns[tname]
            fks = dict(self.fks[tname])
            pk = self.pks[tname]
            rows = []
            for row in tpl.rows.get(tname, []):
                base = [self._value(tname, c, row.get(c)) for c in cols]
                ops: list[tuple[int, str, Any]] = []
                for i, c in enumerate(cols):
                    v = row.get(c)
                    if c == pk:
                        ops.append((i, "pk", v))
                    elif v is None:
                        continue
                    elif c == "origin_case_id":
                        ops.append((i, "none", None))
                    elif c in fks and fks[c] == "users" and v in users:
                        ops.append((i, "user", v))
                    elif c in fks and fks[c] == "org_units" and v in units:
                        ops.append((i, "unit", v))
                    elif c in fks and fks[c] in self.pks:
                        ops.append((i, "id", (fks[c], v)))
                    elif c in self.date_cols[tname]:
                        ops.append((i, "dt", v))
                    elif c in self.day_cols[tname]:
                        ops.append((i, "day", v))
                    elif tname == "cases" and c in ("title", "description", "category",
                                                    "case_no", "report_no"):
                        ops.append((i, "fresh", c))
                    elif tname == "parties" and c == "name":
                        ops.append((i, "name", v))
                    elif c in ("signer", "obligor") and isinstance(v, str) and v.isdigit():
                        ops.append((i, "party", int(v)))
                rows.append((base, ops))
            plans[tname] = rows
        return plans

    def copy(self, tpl: Template, out: dict[str, list[tuple[Any, ...]]]) -> None:
        """Append the rows of one copy of ``tpl`` to ``out``."""
        rng = self.rng
        recipe = self.recipes[id(tpl)]
        grid = rng.choice(self.city.grids)
        tg = self.tpl_grid
        delta = self._shift(tpl)
        category, title, desc, names = self.texts.case()
        users = {tg.volunteer[0]: grid.volunteer[0], tg.reviewer[0]: grid.reviewer[0],
                 tg.lawyer[0]: grid.lawyer[0]}
        units = {tg.id: grid.id, tg.community: grid.community, tg.street: grid.street,
                 tg.district: grid.district}
        tcase = tpl.rows["cases"][0]
        created = tcase["created_at"] + delta
        new = {"title": title, "description": desc, "vol": grid.volunteer[1],
               "rev": grid.reviewer[1], "law": grid.lawyer[1], "grid": grid.code}
        for i, name in enumerate(names):
            new[f"party{i}"] = name
        fresh: dict[str, Any] = {"title": title, "description": desc, "category": category}
        for col in ("case_no", "report_no"):
            if tcase.get(col):
                key = (grid.community, created.year, col)
                self.counters[key] += 1
                series = "人调字" if col == "case_no" else "吹哨"
                fresh[col] = new[col] = (f"（{created.year}）{grid.committee_short}{series}"
                                         f"第{self.counters[key]:06d}号")
        esc_new = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in new.items()}

        def sub(pieces: list[tuple[str, str | None]]) -> str:
            return "".join([lit if key is None else esc_new[key] for lit, key in pieces])

        plain_new = {tg.volunteer[1]: grid.volunteer[1], tg.reviewer[1]: grid.reviewer[1],
                     tg.lawyer[1]: grid.lawyer[1]}
        for i, party in enumerate(tpl.rows.get("parties", [])):
            if i < len(names):
                plain_new[party["name"]] = names[i]
        ids: dict[str, dict[Any, Any]] = defaultdict(dict)
        sqlite = self.sqlite
        days = timedelta(days=delta.days)
        next_id = self.next_id
        for table in self.tables:
            tname = table.name
            if tname == "events":
                head = self._events(recipe, created, ids, sub, plain_new, out)
                # the copy's case row keeps the head of its own chain (cases come first)
                case_row = list(out["cases"][-1])
                case_row[self.head_ix] = head
                out["cases"][-1] = tuple(case_row)
                continue
            if tname == "cases" and not sqlite:  # PostgreSQL's index rows (triggers are off)
                out["case_search"].append((next_id.get("cases", 0) + 1,
                                           grams(title, desc, fresh.get("case_no"),
                                                 fresh.get("report_no"))))
            rows = out[tname]
            own = ids[tname]
            for base, ops in recipe["plans"][tname]:
                r = list(base)
                for i, kind, arg in ops:
                    if kind == "pk":
                        next_id[tname] = nid = next_id.get(tname, 0) + 1
                        own[arg] = nid
                        r[i] = nid
                    elif kind == "dt":
                        v = arg + delta
                        r[i] = v.isoformat(" ", "microseconds") if sqlite else v
                    elif kind == "id":
                        r[i] = ids[arg[0]].get(arg[1], arg[1])
                    elif kind == "user":
                        r[i] = users[arg]
                    elif kind == "unit":
                        r[i] = units[arg]
                    elif kind == "fresh":
                        r[i] = fresh.get(arg, r[i])
                    elif kind == "name":
                        r[i] = plain_new.get(arg, arg)
                    elif kind == "party":
                        r[i] = str(ids["parties"].get(arg, arg))
                    elif kind == "day":
                        v = arg + days
                        r[i] = v.isoformat() if sqlite else v
                    elif kind == "none":
                        r[i] = None
                rows.append(tuple(r))

    def _events(self, recipe: dict[str, Any], created: datetime, ids: dict[str, dict[Any, Any]],
                sub: Callable[[list[tuple[str, str | None]]], str], plain_new: dict[str, str],
                out: dict[str, list[tuple[Any, ...]]]) -> str:
        prev = GENESIS
        case_id = ids["cases"][recipe["case_id"]]
        rows = out["events"]
        sha = hashlib.sha256
        sqlite = self.sqlite
        ix = recipe["ix"]
        next_id = self.next_id.get("events", 0)
        for ev in recipe["events"]:
            at = created + ev["offset"]
            canon = sub(ev["canon"]).replace("\x00", at.isoformat(timespec="microseconds") + "Z")
            digest = sha((prev + canon).encode()).hexdigest()
            next_id += 1
            r = list(ev["base"])
            r[ix["id"]] = next_id
            r[ix["case_id"]] = case_id
            r[ix["at"]] = at.isoformat(" ", "microseconds") if sqlite else at
            r[ix["actor"]] = plain_new.get(ev["actor"], ev["actor"])
            for i in recipe["names"]:
                if r[i] is not None:
                    r[i] = plain_new.get(r[i], r[i])
            r[ix["data"]] = sub(ev["data"])
            r[ix["prev_hash"]] = prev
            r[ix["hash"]] = digest
            rows.append(tuple(r))
            prev = digest
        self.next_id["events"] = next_id
        return prev


# -- writing ----------------------------------------------------------------------------------

def _max_ids(conn: Connection, tables: list[Table]) -> dict[str, int]:
    out = {}
    for t in tables:
        pk = list(t.primary_key.columns)
        if len(pk) == 1:
            out[t.name] = conn.execute(select(func.max(pk[0]))).scalar() or 0
    return out


class Writer:
    """Writes batches of rows fast: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.dialect = rt.db.engine.dialect.name
        self.tables = {t.name: t for t in case_tables()}
        self.columns = {name: [c.name for c in t.columns] for name, t in self.tables.items()}
        if self.dialect == "postgresql":
            self.columns["case_search"] = ["case_id", "grams"]
        self.counts: dict[str, int] = defaultdict(int)
        self.raw = rt.db.engine.raw_connection()
        cur = self._cursor()
        if self.dialect == "sqlite":
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-400000")
        else:
            # The bulk path: no foreign-key or index triggers per row (the copies are made
            # consistent by construction, and sample_verify checks their chains); the search
            # index rows come with the copies.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            self.raw.commit()
        cur.close()

    def _cursor(self) -> Any:
        return self.raw.cursor() if self.dialect == "sqlite" else self.raw.driver_connection.cursor()

    def write(self, batch: dict[str, list[tuple[Any, ...]]]) -> None:
        """Write one batch in one transaction."""
        cur = self._cursor()
        if self.dialect == "sqlite":
            cur.execute("BEGIN")
        for name, cols in self.columns.items():
            rows = batch.get(name)
            if not rows:
                continue
            if self.dialect == "sqlite":
                cur.executemany(f"INSERT INTO {name} ({', '.join(cols)}) "
                                f"VALUES ({', '.join('?' for _ in cols)})", rows)
            else:
                with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            self.counts[name] += len(rows)
        if self.dialect == "sqlite":
            cur.execute("COMMIT")
        else:
            self.raw.commit()
        cur.close()

    def finish(self) -> None:
        """Set sequences past the ids written, refresh the planner's statistics."""
        cur = self._cursor()
        if self.dialect == "postgresql":
            for name, table in self.tables.items():
                pk = list(table.primary_key.columns)
                if len(pk) == 1 and pk[0].autoincrement:
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{name}', '{pk[0].name}'), "
                                f"(SELECT coalesce(max({pk[0].name}), 1) FROM {name}))")
            cur.execute("SET session_replication_role = DEFAULT")
            self.raw.commit()
            self.raw.driver_connection.autocommit = True
            cur.execute("VACUUM ANALYZE")
            self.raw.driver_connection.autocommit = False  # the pool's connection as it was
        else:
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("ANALYZE")
        cur.close()
        self.raw.close()


@dataclass
class Built:
    """What a build made, and how long it took."""

    cases: int
    rows: dict[str, int]
    seconds: float
    setup_seconds: float
    city: City
    templates: list[Template]


def build(rt: Runtime, plan: Plan, *, districts: int = 10, streets: int = 8,
          communities: int = 6, grids: int = 5,
          progress: Callable[[int], None] | None = None) -> Built:
    """Schema, city, templates, then ``plan.n`` cases by the bulk path."""
    start = time.perf_counter()
    rt.db.create_all()
    city = build_city(rt, districts, streets, communities, grids)
    templates = make_templates(rt, city)
    setup = time.perf_counter() - start
    with rt.db.engine.connect() as conn:
        load_template_rows(conn, templates)
        start_ids = _max_ids(conn, case_tables())
    copier = Copier(city, templates, start_ids, plan, utcnow(), rt.db.engine.dialect.name)
    writer = Writer(rt)
    done = 0
    # The copies are made in a second process while this one writes (two cores).
    ctx = multiprocessing.get_context("fork")
    queue: Any = ctx.Queue(maxsize=3)
    maker = ctx.Process(target=_produce, args=(copier, plan.n, queue), daemon=True)
    maker.start()
    while True:
        batch = queue.get()
        if "__counters__" in batch:
            copier.counters = batch["__counters__"]
            break
        writer.write(batch)
        done += len(batch.get("cases", []))
        if progress:
            progress(done)
    maker.join()
    writer.finish()
    _counters(rt, copier)
    seconds = time.perf_counter() - start
    return Built(plan.n, dict(writer.counts), seconds, setup, city, templates)


# canonical()'s arguments after the case reference: columns of the events table.
_CANONICAL_ARGS = list(inspect.signature(canonical).parameters)[1:]


def _case_ref(case: dict[str, Any]) -> str:
    """What the chain names the case by: its report number (else its case number)."""
    return str(case.get("report_no") or case.get("case_no") or "")


def _pieces(rx: re.Pattern[str], text_: str, by_text: dict[str, str]) -> list[tuple[str, str | None]]:
    """``text_`` cut into literal pieces and the keys of the strings a copy replaces."""
    out: list[tuple[str, str | None]] = []
    last = 0
    for m in rx.finditer(text_):
        out.append((text_[last:m.start()], None))
        out.append(("", by_text[m.group(0)]))
        last = m.end()
    out.append((text_[last:], None))
    return [p for p in out if p[0] or p[1]]


def _produce(copier: Copier, count: int, queue: Any) -> None:
    for batch in copier.copies(count):
        queue.put(dict(batch))
    queue.put({"__counters__": dict(copier.counters)})


def _counters(rt: Runtime, copier: Copier) -> None:
    """Case-number counters past the numbers given (new cases continue the series)."""
    from mediation.cases.models import CaseCounter

    with rt.db.session() as s:
        for (committee, year, col), last in copier.counters.items():
            if col != "case_no":
                continue
            row = s.get(CaseCounter, (committee, "人调", year))
            if row is None:
                s.add(CaseCounter(committee_id=committee, series="人调", year=year, last=last))
            else:
                row.last = max(row.last, last)


def sample_verify(rt: Runtime, k: int = 200, seed: int = 3) -> tuple[int, int]:
    """Verify the chains of ``k`` random cases: (checked, broken)."""
    from mediation.workflow.audit import verify_case

    with rt.db.session() as s:
        top = s.scalar(select(func.max(Case.id))) or 0
        rng = random.Random(seed)
        broken = checked = 0
        for _ in range(k):
            row = s.execute(select(Case.id, Case.report_no, Case.version)
                            .where(Case.id >= rng.randint(1, top)).order_by(Case.id).limit(1)).first()
            if row is None:
                continue
            checked += 1
            if not verify_case(s, row.id, row.report_no, row.version).valid:
                broken += 1
    return checked, broken


def table_sizes(rt: Runtime, names: Iterable[str] = ("cases", "events", "deadlines")) -> dict[str, int]:
    """Row counts."""
    with rt.db.engine.connect() as conn:
        return {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar() or 0 for n in names}
