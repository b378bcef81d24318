"""Bad input of every kind on every endpoint that takes input: the answer is a 400, 413 or 422
problem document naming the field (zh-CN by default, English on request), never a 500, and
nothing in the database changes.

The whole module shares one world (``shared_api``): every request here is refused, and the
database snapshot taken around each one proves it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from mediation.cases.dates import CHINA
from tests.api.conftest import Api, assert_problem, snapshot
from tests.factories import AGREEMENT, PARTIES, TODAY, case_body

CJK = re.compile("[\u4e00-\u9fff]")
NOW = datetime.now(CHINA).isoformat(timespec="seconds")  # China time, with its offset


@dataclass(frozen=True)
class Raw:
    """A body sent as these bytes."""

    data: bytes
    content_type: str = "application/json"


def party(**changes: Any) -> dict[str, Any]:
    return {**PARTIES[0], **changes}


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def nested(depth: int) -> bytes:
    return b'{"action": "add_note", "data": {"text": ' + b"[" * depth + b"]" * depth + b"}}"


def fire(trigger: Any = "escalate", data: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"trigger": trigger, "expected_version": "CURRENT", "data": data or {}}
    body.update(extra)
    return body


def act(action: Any, data: Any = None, **extra: Any) -> dict[str, Any]:
    return {"action": action, "data": {} if data is None else data, **extra}


def agreement(**changes: Any) -> dict[str, Any]:
    return {**AGREEMENT, **changes}


def term(**changes: Any) -> dict[str, Any]:
    return {"obligor": "李建国", "content": "赔偿", **changes}


def sig(**changes: Any) -> dict[str, Any]:
    return {"signer": "mediator", "method": "signature", "signed_at": NOW, **changes}


TOO_BIG = b'{"title": "' + b"x" * 1_100_000 + b'"}'

# Cases of the shared world: G (grid mediation, handled by v1, agreement draft saved),
# E (escalated), C (centre mediation, r1), P (performing, v1).
CREATE, LIST, STATS = "/cases", "/cases", "/stats"
T, A, AG, SIG = ("/cases/{G}/transitions", "/cases/{G}/actions", "/cases/{G}/agreement",
                 "/cases/{G}/agreement/signatures")
TE, TC, AP, TP = ("/cases/{E}/transitions", "/cases/{C}/transitions", "/cases/{P}/actions",
                  "/cases/{P}/transitions")

# Bodies that are not JSON objects, for every endpoint that takes a body.
NOT_JSON = [("not json", Raw(b"{")), ("empty", Raw(b"")), ("null", Raw(b"null")),
            ("form", Raw(b"a=b", "application/x-www-form-urlencoded")),
            # JSON text sent as something else (curl -d sends it as a form)
            ("json as a form", Raw(b'{"a": 1}', "application/x-www-form-urlencoded")),
            ("json as text", Raw(b"{}", "text/plain")),
            ("json as multipart", Raw(b"{}", "multipart/form-data; boundary=x")),
            ("not utf-8", Raw(b'{"title": "\xff\xfe"}')), ("too deep", Raw(nested(100_000))),
            ("python literal", Raw(b"{'a': 1}")), ("trailing garbage", Raw(b"{} x"))]
NOT_OBJECT = [("array", Raw(b"[]")), ("string", Raw(b'"x"')), ("number", Raw(b"1")),
              ("true", Raw(b"true"))]
BODY_ENDPOINTS = [("POST", CREATE, "v1"), ("POST", T, "v1"), ("POST", A, "v1"),
                  ("PUT", AG, "v1"), ("POST", SIG, "v1"), ("POST", "/auth/token", None)]

# (id, user, method, path, body, status, fields named)
ROWS: list[tuple[str, str, str, str, Any, int, tuple[str, ...]]] = []
for _m, _p, _u in BODY_ENDPOINTS:
    for _name, _raw in NOT_JSON + NOT_OBJECT:
        ROWS.append((f"{_m} {_p} {_name}", _u or "", _m, _p, _raw, 400, ()))
    ROWS.append((f"{_m} {_p} too large", _u or "", _m, _p, Raw(TOO_BIG), 413, ()))

ROWS += [
    # POST /cases: missing, wrong types, unknown fields, too long, bad choices, references
    *[(f"create missing {k}", "v1", "POST", CREATE, without(case_body(), k), 422, (k,))
      for k in ("grid", "category", "risk_level", "title", "parties")],
    ("create grid number", "v1", "POST", CREATE, case_body(grid=1), 422, ("grid",)),
    ("create title number", "v1", "POST", CREATE, case_body(title=5), 422, ("title",)),
    ("create title bool", "v1", "POST", CREATE, case_body(title=True), 422, ("title",)),
    ("create title null", "v1", "POST", CREATE, case_body(title=None), 422, ("title",)),
    ("create title blank", "v1", "POST", CREATE, case_body(title="   "), 422, ("title",)),
    ("create title too long", "v1", "POST", CREATE, case_body(title="漏" * 201), 422,
     ("title",)),
    ("create description too long", "v1", "POST", CREATE, case_body(description="x" * 5001),
     422, ("description",)),
    ("create description list", "v1", "POST", CREATE, case_body(description=["x"]), 422,
     ("description",)),
    ("create grid too long", "v1", "POST", CREATE, case_body(grid="G" * 41), 422, ("grid",)),
    ("create unknown field", "v1", "POST", CREATE, case_body(priority="urgent"), 422,
     ("priority",)),
    ("create bad risk", "v1", "POST", CREATE, case_body(risk_level="extreme"), 422,
     ("risk_level",)),
    ("create risk number", "v1", "POST", CREATE, case_body(risk_level=3), 422, ("risk_level",)),
    ("create bad category", "v1", "POST", CREATE, case_body(category="打架"), 422,
     ("category",)),
    ("create bad source", "v1", "POST", CREATE, case_body(source="tv"), 422, ("source",)),
    ("create unknown workflow", "v1", "POST", CREATE, case_body(workflow="nope"), 422,
     ("workflow",)),
    ("create unknown grid", "v1", "POST", CREATE, case_body(grid="NOPE"), 422, ("grid",)),
    ("create not a grid", "v1", "POST", CREATE, case_body(grid="C1"), 422, ("grid",)),
    ("create grid outside unit", "v1", "POST", CREATE, case_body(grid="G3"), 422, ("grid",)),
    ("create grid of other street", "r1", "POST", CREATE, case_body(grid="G3"), 422,
     ("grid",)),
    ("create parties empty", "v1", "POST", CREATE, case_body(parties=[]), 422, ("parties",)),
    ("create parties object", "v1", "POST", CREATE, case_body(parties={"a": 1}), 422,
     ("parties",)),
    ("create parties string", "v1", "POST", CREATE, case_body(parties="张三"), 422,
     ("parties",)),
    ("create parties null", "v1", "POST", CREATE, case_body(parties=None), 422, ("parties",)),
    ("create party not object", "v1", "POST", CREATE, case_body(parties=["张三"]), 422,
     ("parties.0",)),
    ("create too many parties", "v1", "POST", CREATE, case_body(parties=[party()] * 21), 422,
     ("parties",)),
    ("create party missing name", "v1", "POST", CREATE,
     case_body(parties=[without(party(), "name")]), 422, ("parties.0.name",)),
    ("create party missing role", "v1", "POST", CREATE,
     case_body(parties=[without(party(), "role")]), 422, ("parties.0.role",)),
    ("create party blank name", "v1", "POST", CREATE, case_body(parties=[party(name="")]), 422,
     ("parties.0.name",)),
    ("create party name too long", "v1", "POST", CREATE,
     case_body(parties=[party(name="张" * 101)]), 422, ("parties.0.name",)),
    ("create party address too long", "v1", "POST", CREATE,
     case_body(parties=[party(), party(address="x" * 201)]), 422, ("parties.1.address",)),
    ("create party bad role", "v1", "POST", CREATE, case_body(parties=[party(role="witness")]),
     422, ("parties.0.role",)),
    ("create party bad kind", "v1", "POST", CREATE, case_body(parties=[party(kind="robot")]),
     422, ("parties.0.kind",)),
    ("create party bad sex", "v1", "POST", CREATE, case_body(parties=[party(sex="X")]), 422,
     ("parties.0.sex",)),
    ("create party birth year text", "v1", "POST", CREATE,
     case_body(parties=[party(birth_year="一九五八")]), 422, ("parties.0.birth_year",)),
    ("create party birth year numeric string", "v1", "POST", CREATE,
     case_body(parties=[party(birth_year="1958")]), 422, ("parties.0.birth_year",)),
    ("create party birth year bool", "v1", "POST", CREATE,
     case_body(parties=[party(birth_year=True)]), 422, ("parties.0.birth_year",)),
    ("create party birth year float", "v1", "POST", CREATE,
     case_body(parties=[party(birth_year=1958.5)]), 422, ("parties.0.birth_year",)),
    ("create party birth year range", "v1", "POST", CREATE,
     case_body(parties=[party(birth_year=1800)]), 422, ("parties.0.birth_year",)),
    ("create party birth year huge", "v1", "POST", CREATE,
     case_body(parties=[party(birth_year=10**30)]), 422, ("parties.0.birth_year",)),
    ("create party unknown field", "v1", "POST", CREATE,
     case_body(parties=[party(nickname="芳姐")]), 422, ("parties.0.nickname",)),
    ("create bad phone", "v1", "POST", CREATE, case_body(parties=[party(phone="12345")]), 422,
     ("parties.0.phone",)),
    ("create phone letters", "v1", "POST", CREATE,
     case_body(parties=[party(), party(phone="call-me-maybe")]), 422, ("parties.1.phone",)),
    ("create phone too long", "v1", "POST", CREATE,
     case_body(parties=[party(phone="1" * 21)]), 422, ("parties.0.phone",)),
    ("create phone number type", "v1", "POST", CREATE,
     case_body(parties=[party(phone=13857112345)]), 422, ("parties.0.phone",)),
    ("create bad id number", "v1", "POST", CREATE,
     case_body(parties=[party(id_number="33010319580312002")]), 422, ("parties.0.id_number",)),
    ("create id number letters", "v1", "POST", CREATE,
     case_body(parties=[party(id_number="ABCDEFGHIJKLMNOPQR")]), 422, ("parties.0.id_number",)),
    ("create id number too long", "v1", "POST", CREATE,
     case_body(parties=[party(id_number="3" * 19)]), 422, ("parties.0.id_number",)),
    ("create several errors", "v1", "POST", CREATE,
     without(case_body(parties=[party(phone="1")]), "grid"), 422, ("grid", "parties.0.phone")),
    ("create NUL in title", "v1", "POST", CREATE, case_body(title="漏水\x00"), 422,
     ("title",)),
    ("create NUL in party name", "v1", "POST", CREATE,
     case_body(parties=[party(name="张\x00")]), 422, ("parties.0.name",)),
    ("create NUL key", "v1", "POST", CREATE, {**case_body(), "\x00": 1}, 422, ()),
    ("create lone surrogate", "v1", "POST", CREATE,
     Raw(json.dumps(case_body(description="SURR")).replace("SURR", "\\ud800").encode()), 422,
     ("description",)),
    ("create lone surrogate in party", "v1", "POST", CREATE,
     Raw(json.dumps(case_body(parties=[party(address="SURR")])).replace(
         "SURR", "\\udfff").encode()), 422, ("parties.0.address",)),
    ("create NUL idempotency key", "v1", "POST", CREATE,
     ("headers", {"Idempotency-Key": "k\x00"}, case_body()), 422, ("Idempotency-Key",)),

    # GET /cases query
    ("list page 0", "v1", "GET", LIST + "?page=0", None, 422, ("page",)),
    ("list page text", "v1", "GET", LIST + "?page=two", None, 422, ("page",)),
    ("list page negative", "v1", "GET", LIST + "?page=-1", None, 422, ("page",)),
    ("list per_page 0", "v1", "GET", LIST + "?per_page=0", None, 422, ("per_page",)),
    ("list per_page 101", "v1", "GET", LIST + "?per_page=101", None, 422, ("per_page",)),
    ("list overdue maybe", "v1", "GET", LIST + "?overdue=maybe", None, 422, ("overdue",)),
    ("list unknown param", "v1", "GET", LIST + "?sort=risk", None, 422, ("sort",)),
    ("list q too long", "v1", "GET", LIST + "?q=" + "x" * 101, None, 422, ("q",)),
    ("list state twice", "v1", "GET", LIST + "?state=reported&state=escalated", None, 422,
     ("state",)),
    ("list NUL in q", "v1", "GET", LIST + "?q=a%00b", None, 422, ("q",)),
    ("list NUL in grid", "v1", "GET", LIST + "?grid=G%001", None, 422, ("grid",)),

    # POST transitions
    ("fire missing trigger", "v1", "POST", T, without(fire(), "trigger"), 422, ("trigger",)),
    ("fire missing version", "v1", "POST", T, without(fire(data={"reason": "x"}),
                                                       "expected_version"), 422,
     ("expected_version",)),
    ("fire version text", "v1", "POST", T, fire(data={"reason": "x"}, expected_version="one"),
     422, ("expected_version",)),
    ("fire version numeric string", "v1", "POST", T,
     fire(data={"reason": "x"}, expected_version="CURRENT_STR"), 422, ("expected_version",)),
    ("fire version bool", "v1", "POST", T, fire(data={"reason": "x"}, expected_version=True),
     422, ("expected_version",)),
    ("fire version float", "v1", "POST", T, fire(data={"reason": "x"}, expected_version=1.5),
     422, ("expected_version",)),
    ("fire version zero", "v1", "POST", T, fire(data={"reason": "x"}, expected_version=0),
     422, ("expected_version",)),
    ("fire version NaN", "v1", "POST", T,
     Raw(b'{"trigger": "escalate", "expected_version": NaN, "data": {"reason": "x"}}'), 422,
     ("expected_version",)),
    ("fire trigger number", "v1", "POST", T, fire(trigger=5), 422, ("trigger",)),
    ("fire trigger too long", "v1", "POST", T, fire(trigger="x" * 61), 422, ("trigger",)),
    ("fire unknown trigger", "v1", "POST", T, fire(trigger="fly"), 422, ("trigger",)),
    ("fire unknown field", "v1", "POST", T, fire(data={"reason": "x"}, force=True), 422,
     ("force",)),
    ("fire data string", "v1", "POST", T, fire(data="reason"), 422, ("data",)),
    ("fire data list", "v1", "POST", T, fire(data=["reason"]), 422, ("data",)),
    ("escalate missing reason", "v1", "POST", T, fire(), 422, ("data.reason",)),
    ("escalate blank reason", "v1", "POST", T, fire(data={"reason": " "}), 422,
     ("data.reason",)),
    ("escalate reason number", "v1", "POST", T, fire(data={"reason": 5}), 422,
     ("data.reason",)),
    ("escalate reason too long", "v1", "POST", T, fire(data={"reason": "x" * 5001}), 422,
     ("data.reason",)),
    ("escalate unknown data", "v1", "POST", T, fire(data={"reason": "x", "urgent": True}), 422,
     ("data.urgent",)),
    ("escalate NUL reason", "v1", "POST", T, fire(data={"reason": "分歧\x00"}), 422,
     ("data.reason",)),
    ("sign without agreement signed", "v1", "POST", T, fire("sign_agreement"), 422,
     ("trigger",)),
    ("reject missing reason", "r1", "POST", TE, fire("reject"), 422, ("data.reason",)),
    ("return missing instructions", "r1", "POST", TE, fire("return_to_grid"), 422,
     ("data.instructions",)),
    ("assign unknown mediator", "r1", "POST", TE, fire("assign_center", {"mediator": "ghost"}),
     422, ("data.mediator",)),
    ("assign mediator wrong role", "r1", "POST", TE, fire("assign_center", {"mediator": "v1"}),
     422, ("data.mediator",)),
    ("assign mediator out of reach", "r1", "POST", TE,
     fire("assign_center", {"mediator": "r9"}), 422, ("data.mediator",)),
    ("refer missing lawyer", "r1", "POST", TE, fire("refer_legal"), 422, ("data.lawyer",)),
    ("refer unknown lawyer", "r1", "POST", TE, fire("refer_legal", {"lawyer": "ghost"}), 422,
     ("data.lawyer",)),
    ("refer lawyer wrong role", "r1", "POST", TE, fire("refer_legal", {"lawyer": "r1"}), 422,
     ("data.lawyer",)),
    ("refer lawyer other district", "r1", "POST", TE, fire("refer_legal", {"lawyer": "l2"}),
     422, ("data.lawyer",)),
    ("refer lawyer not text", "r1", "POST", TE, fire("refer_legal", {"lawyer": ["l1"]}), 422,
     ("data.lawyer",)),
    ("end routes not informed", "r1", "POST", TC,
     fire("end_without_agreement", {"routes_informed": False, "reason": "x"}), 422,
     ("data.routes_informed",)),
    ("end routes informed string", "r1", "POST", TC,
     fire("end_without_agreement", {"routes_informed": "true", "reason": "x"}), 422,
     ("data.routes_informed",)),
    ("end missing everything", "r1", "POST", TC, fire("end_without_agreement"), 422,
     ("data.routes_informed", "data.reason")),
    ("withdraw missing statement", "v1", "POST", T, fire("withdraw"), 422, ("data.statement",)),
    ("confirm without follow-up", "v1", "POST", TP, fire("confirm_performance"), 422,
     ("trigger",)),
    ("breach missing reason", "v1", "POST", TP, fire("report_breach"), 422, ("data.reason",)),

    # POST actions
    ("act missing action", "v1", "POST", A, {"data": {"text": "x"}}, 422, ("action",)),
    ("act action number", "v1", "POST", A, act(7, {"text": "x"}), 422, ("action",)),
    ("act unknown action", "v1", "POST", A, act("dance", {"text": "x"}), 422, ("action",)),
    ("act unknown field", "v1", "POST", A, act("add_note", {"text": "x"}, when="now"), 422,
     ("when",)),
    ("act data string", "v1", "POST", A, act("add_note", "x"), 422, ("data",)),
    ("note missing text", "v1", "POST", A, act("add_note"), 422, ("data.text",)),
    ("note text too long", "v1", "POST", A, act("add_note", {"text": "x" * 5001}), 422,
     ("data.text",)),
    ("note text object", "v1", "POST", A, act("add_note", {"text": {"a": 1}}), 422,
     ("data.text",)),
    ("note unknown data", "v1", "POST", A, act("add_note", {"text": "x", "tag": "y"}), 422,
     ("data.tag",)),
    ("note NUL key in data", "v1", "POST", A, act("add_note", {"text": "x", "\x00": "y"}), 422,
     ("data",)),
    ("session missing", "v1", "POST", A, act("record_session"), 422,
     ("data.date", "data.summary", "data.outcome")),
    ("session bad date", "v1", "POST", A,
     act("record_session", {"date": "2026-02-30", "summary": "s", "outcome": "o"}), 422,
     ("data.date",)),
    ("session date words", "v1", "POST", A,
     act("record_session", {"date": "yesterday", "summary": "s", "outcome": "o"}), 422,
     ("data.date",)),
    ("session date number", "v1", "POST", A,
     act("record_session", {"date": 20261101, "summary": "s", "outcome": "o"}), 422,
     ("data.date",)),
    ("session participants number", "v1", "POST", A,
     act("record_session", {"date": TODAY, "summary": "s", "outcome": "o",
                            "participants": 3}), 422, ("data.participants",)),
    ("session too many participants", "v1", "POST", A,
     act("record_session", {"date": TODAY, "summary": "s", "outcome": "o",
                            "participants": ["甲"] * 51}), 422, ("data.participants",)),
    ("investigation missing findings", "v1", "POST", A,
     act("record_investigation", {"date": TODAY}), 422, ("data.findings",)),
    ("oral agreement missing content", "v1", "POST", A,
     act("register_oral_agreement", {"date": TODAY}), 422, ("data.content",)),
    ("reassign unknown user", "v1", "POST", A, act("reassign", {"to": "ghost", "reason": "x"}),
     422, ("data.to",)),
    ("reassign missing reason", "v1", "POST", A, act("reassign", {"to": "v1b"}), 422,
     ("data.reason",)),
    ("reassign user out of reach", "v1", "POST", A, act("reassign", {"to": "v3", "reason": "x"}),
     422, ("data.to",)),
    ("follow-up bad result", "v1", "POST", AP,
     act("record_follow_up", {"date": TODAY, "method": "上门", "result": "maybe"}), 422,
     ("data.result",)),
    ("action date in the future", "v1", "POST", A,
     act("record_session", {"date": "2099-01-01", "summary": "s", "outcome": "o"}), 422,
     ("data.date",)),
    ("follow-up missing", "v1", "POST", AP, act("record_follow_up"), 422,
     ("data.date", "data.method", "data.result")),
    ("judicial bad date", "v1", "POST", AP,
     act("record_judicial_confirmation", {"court": "上城区人民法院", "applied_on": "soon"}),
     422, ("data.applied_on",)),

    # PUT agreement
    ("agreement unknown field", "v1", "PUT", AG, agreement(witness="x"), 422, ("witness",)),
    ("agreement facts too long", "v1", "PUT", AG, agreement(facts="x" * 5001), 422, ("facts",)),
    ("agreement facts number", "v1", "PUT", AG, agreement(facts=1), 422, ("facts",)),
    ("agreement terms string", "v1", "PUT", AG, agreement(terms="全部赔偿"), 422, ("terms",)),
    ("agreement term not object", "v1", "PUT", AG, agreement(terms=["赔偿"]), 422,
     ("terms.0",)),
    ("agreement too many terms", "v1", "PUT", AG, agreement(terms=[term()] * 51), 422,
     ("terms",)),
    ("agreement unknown obligor", "v1", "PUT", AG, agreement(terms=[term(obligor="王五")]), 422,
     ("terms.0.obligor",)),
    ("agreement unknown obligor id", "v1", "PUT", AG,
     agreement(terms=[term(), term(obligor=999999)]), 422, ("terms.1.obligor",)),
    ("agreement obligor bool", "v1", "PUT", AG, agreement(terms=[term(obligor=True)]), 422,
     ("terms.0.obligor",)),
    ("agreement obligor list", "v1", "PUT", AG, agreement(terms=[term(obligor=["李建国"])]), 422,
     ("terms.0.obligor",)),
    ("agreement term missing content", "v1", "PUT", AG,
     agreement(terms=[without(term(), "content")]), 422, ("terms.0.content",)),
    ("agreement term unknown field", "v1", "PUT", AG, agreement(terms=[term(penalty="x")]), 422,
     ("terms.0.penalty",)),
    ("agreement term bad due date", "v1", "PUT", AG,
     agreement(terms=[term(due_date="2026-02-30")]), 422, ("terms.0.due_date",)),
    ("agreement term amount list", "v1", "PUT", AG, agreement(terms=[term(amount=[1])]), 422,
     ("terms.0.amount",)),
    ("agreement term amount negative", "v1", "PUT", AG, agreement(terms=[term(amount="-5")]),
     422, ("terms.0.amount",)),
    ("agreement term amount words", "v1", "PUT", AG, agreement(terms=[term(amount="两千")]),
     422, ("terms.0.amount",)),
    ("agreement term amount three decimals", "v1", "PUT", AG,
     agreement(terms=[term(amount="1.005")]), 422, ("terms.0.amount",)),
    ("agreement bad deadline", "v1", "PUT", AG, agreement(performance_deadline="soon"), 422,
     ("performance_deadline",)),
    ("agreement copies 1", "v1", "PUT", AG, agreement(copies=1), 422, ("copies",)),
    ("agreement copies text", "v1", "PUT", AG, agreement(copies="3"), 422, ("copies",)),
    ("agreement NUL in facts", "v1", "PUT", AG, agreement(facts="事实\x00"), 422, ("facts",)),

    # POST signatures
    ("sign missing signed_at", "v1", "POST", SIG, without(sig(), "signed_at"), 422,
     ("signed_at",)),
    ("sign missing signer", "v1", "POST", SIG, without(sig(), "signer"), 422, ("signer",)),
    ("sign bad signed_at", "v1", "POST", SIG, sig(signed_at="yesterday"), 422, ("signed_at",)),
    ("sign bad method", "v1", "POST", SIG, sig(method="stamp"), 422, ("method",)),
    ("sign unknown party", "v1", "POST", SIG, sig(signer=999999), 422, ("signer",)),
    ("sign unknown signer text", "v1", "POST", SIG, sig(signer="judge"), 422, ("signer",)),
    ("sign signer bool", "v1", "POST", SIG, sig(signer=True), 422, ("signer",)),
    ("sign signer float", "v1", "POST", SIG, sig(signer=1.5), 422, ("signer",)),
    ("sign unknown field", "v1", "POST", SIG, sig(witness="x"), 422, ("witness",)),

    # GET /stats query
    ("stats bad from", "v1", "GET", STATS + "?from=2026-13-01", None, 422, ("from",)),
    ("stats bad to", "v1", "GET", STATS + "?to=tomorrow", None, 422, ("to",)),
    ("stats from after to", "v1", "GET", STATS + "?from=2026-02-01&to=2026-01-01", None, 422,
     ("to",)),
    ("stats unknown org", "v1", "GET", STATS + "?org=ZZ", None, 422, ("org",)),
    ("stats org outside unit", "v1", "GET", STATS + "?org=S2", None, 422, ("org",)),
    ("stats unknown param", "v1", "GET", STATS + "?by=month", None, 422, ("by",)),
    ("stats NUL in org", "v1", "GET", STATS + "?org=G%001", None, 422, ("org",)),
]


@pytest.fixture(scope="module")
def cases(shared_api: Api) -> dict[str, int]:
    w = shared_api.world
    ids = {"G": w.case_in("grid_mediation"), "E": w.case_in("escalated"),
           "C": w.case_in("center_mediation"), "P": w.case_in("performing")}
    with shared_api.rt.db.session() as s:
        from mediation.cases.operations import save_agreement

        save_agreement(s, shared_api.rt.engine, ids["G"], dict(AGREEMENT),
                       actor=w.user(s, "v1"))
    return ids


def _send(api: Api, cases: dict[str, int], user: str, method: str, path: str, body: Any,
          lang: str | None) -> Any:
    path = path.format(**cases)
    kw: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(body, tuple) and body and body[0] == "headers":
        _, headers, body = body
    if isinstance(body, Raw):
        kw = {"data": body.data, "content_type": body.content_type}
    elif body is not None:
        if body.get("expected_version") in ("CURRENT", "CURRENT_STR"):
            case_id = int(path.split("/")[2])
            version = api.case(case_id, user)["version"]
            wanted = body["expected_version"]
            body = {**body, "expected_version": version if wanted == "CURRENT" else str(version)}
        kw = {"json": body}
    return api.request(method, path, user or None, lang=lang, headers=headers, **kw)


@pytest.mark.parametrize("user, method, path, body, status, fields",
                         [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_refused_named_and_nothing_changed(shared_api: Api, cases: dict[str, int], user: str,
                                           method: str, path: str, body: Any, status: int,
                                           fields: tuple[str, ...]) -> None:
    before = snapshot(shared_api.rt)
    zh = assert_problem(_send(shared_api, cases, user, method, path, body, None), status,
                        *fields)
    en = assert_problem(_send(shared_api, cases, user, method, path, body, "en"), status,
                        *fields)
    assert CJK.search(zh["detail"]), zh
    assert not CJK.search(en["title"]), en
    assert re.search("[A-Za-z]{3}", en["detail"]), en
    if status == 422:
        assert zh["errors"] and en["errors"]
        for z, e in zip(zh["errors"], en["errors"], strict=True):
            assert z["field"] == e["field"]
            assert CJK.search(z["message"]), z
            assert re.search("[A-Za-z]{2}", e["message"]) and e["message"] != z["message"], e
    assert snapshot(shared_api.rt) == before


def test_valid_bodies_of_the_table_pass(shared_api: Api, cases: dict[str, int]) -> None:
    """The table's starting points are valid: each row fails only because of its change."""
    before = snapshot(shared_api.rt)
    r = _send(shared_api, cases, "v1", "PUT", AG, agreement(), None)
    assert r.status_code == 200, r.get_json()
    r = _send(shared_api, cases, "v1", "POST", A, act("add_note", {"text": "备注"}), None)
    assert r.status_code == 201, r.get_json()
    r = _send(shared_api, cases, "v1", "POST", CREATE, case_body(), None)
    assert r.status_code == 201, r.get_json()
    for path in (LIST, STATS):
        assert shared_api.get(path).status_code == 200
    assert snapshot(shared_api.rt) != before


@pytest.mark.parametrize("path", ["/cases/999999", "/cases/999999/events",
                                  "/cases/999999/events/verify", "/cases/999999/agreement",
                                  "/cases/2147483648", "/cases/99999999999999999999999",
                                  "/cases/-1", "/cases/abc"])
def test_unknown_case_ids_are_404(shared_api: Api, path: str) -> None:
    assert_problem(shared_api.get(path), 404)
    for method, sub, body in [("POST", "/transitions", fire(data={"reason": "x"})),
                              ("POST", "/actions", act("add_note", {"text": "x"})),
                              ("PUT", "/agreement", agreement()),
                              ("POST", "/agreement/signatures", sig())]:
        base = "/".join(path.split("/")[:3])
        body = {**body, "expected_version": 1} if "expected_version" in body else body
        assert_problem(shared_api.request(method, base + sub, "v1", json=body), 404)
