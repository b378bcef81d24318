"""The record holds as evidence (issue 7, M1): numbers given on acceptance, the agreement's
content, signatures and history, dates between the report and today in the order the law
implies, people's ID numbers, a mediator who is a party, and the flow fixes of the web issue.
Each rule is tested at its boundary, through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from mediation.auth.models import User
from mediation.cases.dates import CHINA, china_today
from mediation.cases.operations import create_case
from mediation.timeutil import utcnow
from tests.api.conftest import Api, assert_problem, snapshot
from tests.factories import AGREEMENT, PARTIES, TODAY, case_body

YESTERDAY = (china_today() - timedelta(days=1)).isoformat()
TOMORROW = (china_today() + timedelta(days=1)).isoformat()


def _case(api: Api, user: str = "v1", **extra: Any) -> dict[str, Any]:
    r = api.post("/cases", case_body(**extra), user)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _accepted(api: Api, user: str = "v1") -> dict[str, Any]:
    return api.fire(_case(api)["id"], "accept", user)


def _sign(api: Api, case_id: int, signer: Any, method: str = "signature",
          at: str | None = None, user: str = "v1") -> Any:
    return api.post(f"/cases/{case_id}/agreement/signatures",
                    {"signer": signer, "method": method,
                     "signed_at": at or datetime.now(CHINA).isoformat(timespec="seconds")},
                    user)


def _sign_all(api: Api, case: dict[str, Any], user: str = "v1",
              times: list[str] | None = None) -> list[Any]:
    signers = [(p["id"], "signature") for p in case["parties"]] + [
        ("mediator", "signature"), ("committee", "seal")]
    times = times or [None] * len(signers)
    out = []
    for (signer, method), at in zip(signers, times, strict=True):
        r = _sign(api, case["id"], signer, method, at, user)
        assert r.status_code == 201, r.get_json()
        out.append(r.get_json())
    return out


def _backdated_case(api: Api, days: int) -> int:
    """A case reported ``days`` ago, accepted by v1 then."""
    then = utcnow() - timedelta(days=days)
    with api.rt.db.session() as s:
        actor = s.query(User).filter_by(username="v1").one()
        case, _ = create_case(s, api.rt.engine, case_body(), actor=actor, now=then)
        api.rt.engine.fire(s, case.id, "accept", actor=actor, now=then)
        return case.id


# -- numbers ---------------------------------------------------------------------------------

def test_a_report_number_at_the_whistle_and_a_case_number_only_on_acceptance(api: Api):
    rejected = _case(api)
    assert rejected["report_no"] and rejected["case_no"] is None
    assert rejected["accepted_at"] is None
    rejected = api.fire(rejected["id"], "reject", "v1", {"reason": "已向法院起诉"})
    assert rejected["case_no"] is None  # a report not accepted never takes a number
    escalated = api.fire(_case(api)["id"], "escalate", "v1", {"reason": "分歧大"})
    assert escalated["case_no"] is None  # escalated is not mediation yet
    accepted = api.fire(_case(api)["id"], "accept", "v1")
    year = china_today().year
    assert accepted["case_no"] == f"（{year}）红石板人调字第0001号"  # gapless: the rejected took none
    assert accepted["accepted_at"]
    centre = api.fire(escalated["id"], "assign_center", "r1", {"mediator": "r1"})
    assert centre["case_no"] == f"（{year}）红石板人调字第0002号"
    # returning to the grid and coming back never renumbers
    again = api.fire(centre["id"], "refer_legal", "r1", {"lawyer": "l1"})
    assert again["case_no"] == centre["case_no"]


def test_the_year_of_a_case_number_is_the_year_in_china(api: Api):
    # 2026-12-31 17:00 UTC is 2027-01-01 01:00 in China
    new_year = datetime(2026, 12, 31, 17, 0)
    with api.rt.db.session() as s:
        actor = s.query(User).filter_by(username="v1").one()
        case, _ = create_case(s, api.rt.engine, case_body(), actor=actor,
                              now=new_year - timedelta(hours=1))
        case = api.rt.engine.fire(s, case.id, "accept", actor=actor, now=new_year).case
        assert case.report_no.startswith("红石板-报2027-")
        assert case.case_no == "（2027）红石板人调字第0001号"


# -- the agreement ---------------------------------------------------------------------------

def test_missing_content_keeps_it_a_draft_and_is_listed(api: Api):
    case = _accepted(api)
    draft = {**AGREEMENT, "performance_deadline": None, "performance_place": "",
             "terms": [{**AGREEMENT["terms"][0], "obligee": None}]}
    r = api.put(f"/cases/{case['id']}/agreement", draft)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "draft" and body["complete"] is False
    assert body["missing"] == ["terms.0.obligee", "performance_place", "performance_deadline"]
    assert "履行期限" in body["missing_text"] and "权利人" in body["missing_text"]
    assert body["copies"] == len(case["parties"]) + 1
    # the copy for signing is not printable yet, signatures are refused
    assert api.get(f"/cases/{case['id']}/documents/agreement.pdf").status_code == 409
    r = _sign(api, case["id"], "mediator")
    assert assert_problem(r, 409)["missing"] == body["missing"]
    r = api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT))
    assert r.get_json()["missing"] == [] and r.get_json()["status"] == "draft"
    pdf = api.get(f"/cases/{case['id']}/documents/agreement.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")  # the copy for signing


@pytest.mark.parametrize(("change", "field"), [
    ({"copies": 2}, "copies"),  # two parties: three copies
    ({"copies": 4}, "copies"),
    ({"terms": [{**AGREEMENT["terms"][0], "obligee": "王五"}]}, "terms.0.obligee"),
    ({"terms": [{**AGREEMENT["terms"][0], "obligee": "李建国"}]}, "terms.0.obligee"),
    ({"terms": [{**AGREEMENT["terms"][0], "amount": "人民币500元"}]}, "terms.0.amount"),
    ({"terms": [{**AGREEMENT["terms"][0], "amount": "0"}]}, "terms.0.amount"),
    ({"terms": [{**AGREEMENT["terms"][0], "amount": "-5"}]}, "terms.0.amount"),
    ({"terms": [{**AGREEMENT["terms"][0], "amount": "1.234"}]}, "terms.0.amount"),
    ({"performance_deadline": "9999-12-31"}, "performance_deadline"),
    ({"performance_deadline": "0001-01-01"}, "performance_deadline"),
    ({"performance_deadline": YESTERDAY}, "performance_deadline"),  # before the report
    ({"terms": [{**AGREEMENT["terms"][0], "due_date": "9999-12-31"}]}, "terms.0.due_date"),
    ({"terms": [{**AGREEMENT["terms"][0], "due_date": "2099-01-01"}]}, "terms.0.due_date"),
])
def test_agreement_content_is_refused_naming_the_field(api: Api, change: dict, field: str):
    case = _accepted(api)
    before = snapshot(api.rt)
    r = api.put(f"/cases/{case['id']}/agreement", {**AGREEMENT, **change})
    assert_problem(r, 422, field)
    assert snapshot(api.rt) == before


def test_the_copy_count_may_be_omitted_or_given_right(api: Api):
    case = _accepted(api)
    assert api.put(f"/cases/{case['id']}/agreement",
                   {**AGREEMENT, "copies": 3}).get_json()["copies"] == 3
    assert api.put(f"/cases/{case['id']}/agreement",
                   {**AGREEMENT, "performance_deadline": TODAY}).status_code == 200  # the report day


def test_effective_at_is_the_latest_real_signature_not_the_time_of_typing(api: Api):
    case_id = _backdated_case(api, 10)
    case = api.case(case_id)
    assert api.put(f"/cases/{case_id}/agreement", dict(AGREEMENT)).status_code == 200
    day = (china_today() - timedelta(days=5)).isoformat()
    times = [f"{day}T09:00:00", f"{day}T09:30:00", f"{day}T10:15:00", f"{day}T09:45:00"]
    sigs = _sign_all(api, case, times=times)
    assert [s["in_force"] for s in sigs] == [False, False, False, True]
    # no offset: China time (10:15 in Hangzhou is 02:15 UTC)
    assert sigs[2]["signed_at"] == f"{day}T02:15:00.000000Z"
    agreement = api.get(f"/cases/{case_id}/agreement").get_json()
    assert agreement["status"] == "in_force"
    assert agreement["effective_at"] == f"{day}T02:15:00.000000Z"


@pytest.mark.parametrize(("when", "ok"), [
    ("report_day_before", False), ("report_day", True), ("future", False),
    ("0001-01-01T00:00:00+14:00", False), ("9999-12-31T23:59:59", False),
])
def test_a_signature_lies_between_the_report_and_now(api: Api, when: str, ok: bool):
    case_id = _backdated_case(api, 3)
    reported = china_today() - timedelta(days=3)
    at = {"report_day_before": f"{reported - timedelta(days=1)}T23:00:00",
          "report_day": f"{reported}T00:30:00",
          "future": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}.get(when, when)
    assert api.put(f"/cases/{case_id}/agreement", dict(AGREEMENT)).status_code == 200
    r = _sign(api, case_id, "mediator", at=at)
    if ok:
        assert r.status_code == 201, r.get_json()
    else:
        assert_problem(r, 422, "signed_at")


def test_the_seal_is_the_committees_and_is_needed(api: Api):
    case = _accepted(api)
    api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT))
    assert_problem(_sign(api, case["id"], "committee", "signature"), 422, "method")
    assert_problem(_sign(api, case["id"], "mediator", "seal"), 422, "method")
    for p in case["parties"]:
        assert _sign(api, case["id"], p["id"]).status_code == 201
    assert _sign(api, case["id"], "mediator").status_code == 201
    body = api.get(f"/cases/{case['id']}/agreement").get_json()
    assert (body["status"], body["unsigned"]) == ("draft", ["调解委员会印章"])
    case = api.case(case["id"])
    r = api.post(f"/cases/{case['id']}/transitions",
                 {"trigger": "sign_agreement", "expected_version": case["version"]})
    assert "调解委员会印章" in assert_problem(r, 422, "trigger")["errors"][0]["message"]
    assert _sign(api, case["id"], "committee", "seal").get_json()["in_force"] is True


def test_a_breach_voids_the_agreement_and_keeps_it_on_record(api: Api):
    case = _accepted(api)
    api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT))
    _sign_all(api, case)
    case = api.fire(case["id"], "sign_agreement", "v1")
    case = api.fire(case["id"], "report_breach", "v1", {"reason": "逾期未赔偿"})
    listed = api.get(f"/cases/{case['id']}/agreements").get_json()
    assert [(a["round"], a["status"], a["void_reason"]) for a in listed] == [
        (1, "voided", "逾期未赔偿")]
    assert listed[0]["voided_at"] and listed[0]["effective_at"]
    assert listed[0]["agreement"]["terms"][1]["amount"] == "2000.00"
    assert api.get(f"/cases/{case['id']}/agreement").get_json()["status"] == "voided"
    assert api.get(f"/cases/{case['id']}/documents/agreement.pdf").status_code == 200
    # the next round makes its own agreement, the voided one stays
    case = api.fire(case["id"], "assign_center", "r1", {"mediator": "r1"})
    r = api.put(f"/cases/{case['id']}/agreement", {**AGREEMENT, "facts": "重新调解"}, "r1")
    assert (r.get_json()["round"], r.get_json()["status"]) == (2, "draft")
    listed = api.get(f"/cases/{case['id']}/agreements").get_json()
    assert [(a["round"], a["status"]) for a in listed] == [(1, "voided"), (2, "draft")]


def test_a_change_after_signing_is_a_new_version_listed_beside_the_old(api: Api):
    case = _accepted(api)
    api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT))
    assert _sign(api, case["id"], case["parties"][0]["id"]).status_code == 201
    r = api.put(f"/cases/{case['id']}/agreement", {**AGREEMENT, "facts": "补充事实"})
    assert (r.get_json()["version"], r.get_json()["signatures"]) == (2, [])
    listed = api.get(f"/cases/{case['id']}/agreements").get_json()
    assert [(a["round"], a["version"], a["status"], a["superseded"]) for a in listed] == [
        (1, 1, "voided", True), (1, 2, "draft", False)]
    assert len(listed[0]["agreement"]["signatures"]) == 1
    assert listed[0]["agreement"]["facts"] == AGREEMENT["facts"]


# -- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "ok"), [
    ("yesterday", False), ("report_day", True), ("tomorrow", False),
    ("9999-12-31", False), ("0001-01-01", False),
])
def test_a_record_date_lies_between_the_report_and_today(api: Api, day: str, ok: bool):
    case = _accepted(api)
    value = {"yesterday": YESTERDAY, "report_day": TODAY, "tomorrow": TOMORROW}.get(day, day)
    r = api.post(f"/cases/{case['id']}/actions", {"action": "record_session", "data": {
        "date": value, "summary": "双方陈述", "outcome": "继续调解"}})
    if ok:
        assert r.status_code == 201, r.get_json()
    else:
        assert_problem(r, 422, "data.date")


def test_a_follow_up_comes_after_the_agreement_took_effect(api: Api):
    case_id = _backdated_case(api, 10)
    case = api.case(case_id)
    api.put(f"/cases/{case_id}/agreement", dict(AGREEMENT))
    effect = china_today() - timedelta(days=4)
    _sign_all(api, case, times=[f"{effect}T10:00:00"] * 4)
    api.fire(case_id, "sign_agreement", "v1")
    visit = {"method": "上门", "result": "performed"}
    r = api.post(f"/cases/{case_id}/actions", {"action": "record_follow_up", "data": {
        **visit, "date": (effect - timedelta(days=1)).isoformat()}})
    assert_problem(r, 422, "data.date")
    api.act(case_id, "record_follow_up", "v1", {**visit, "date": effect.isoformat()})


def test_judicial_confirmation_order_and_its_30_days(api: Api):
    case_id = _backdated_case(api, 60)
    case = api.case(case_id)
    api.put(f"/cases/{case_id}/agreement", dict(AGREEMENT))
    effect = china_today() - timedelta(days=40)
    _sign_all(api, case, times=[f"{effect}T10:00:00"] * 4)
    api.fire(case_id, "sign_agreement", "v1")

    def confirm(applied: date, ruled: date | None = None) -> Any:
        data = {"court": "上城区人民法院", "applied_on": applied.isoformat()}
        if ruled:
            data["ruled_on"] = ruled.isoformat()
        return api.post(f"/cases/{case_id}/actions",
                        {"action": "record_judicial_confirmation", "data": data})

    assert_problem(confirm(effect - timedelta(days=1)), 422, "data.applied_on")
    assert_problem(confirm(effect + timedelta(days=5), effect + timedelta(days=4)), 422,
                   "data.ruled_on")
    on_time = confirm(effect + timedelta(days=30), effect + timedelta(days=30))
    assert on_time.status_code == 201 and "warnings" not in on_time.get_json()
    late = confirm(effect + timedelta(days=31))
    assert late.status_code == 201  # a warning, not a refusal
    assert "30" in late.get_json()["warnings"][0]


def test_judicial_confirmation_only_for_a_written_agreement(api: Api):
    case = _accepted(api)
    api.act(case["id"], "register_oral_agreement", "v1", {"content": "口头约定", "date": TODAY})
    api.fire(case["id"], "sign_agreement", "v1")
    r = api.post(f"/cases/{case['id']}/actions", {"action": "record_judicial_confirmation",
                                                  "data": {"court": "法院", "applied_on": TODAY}})
    assert "书面" in assert_problem(r, 422, "action")["errors"][0]["message"]


# -- people ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"id_number": "330103197501010011"}, "id_number", "校验位"),
    ({"id_number": "000000000000000000"}, "id_number", "地区码"),
    ({"id_number": "330103209901010016"}, "id_number", "晚于今天"),
    ({"id_number": "330103197502300016"}, "id_number", "真实的日期"),
    ({"id_number": "990103197501010016"}, "id_number", "地区码"),
    ({"id_number": "33010319750101001"}, "id_number", "18位"),
    ({"id_number": "330103750101001"}, "id_number", "18位"),  # first generation: retired
    ({"id_number": "330103197501010016", "birth_year": 1976}, "birth_year", "1975"),
    ({"id_number": "330103197501010016", "sex": "女"}, "sex", "男"),
    ({"birth_year": 2099}, "birth_year", "今年"),
    ({"kind": "organization", "id_number": None, "credit_code": "91330103MA2B3C4D5E"},
     "credit_code", "校验位"),
    ({"credit_code": "91330103MA2B3C4D52"}, "credit_code", "单位"),
])
def test_id_numbers_and_credit_codes_are_checked(api: Api, changes: dict, field: str,
                                                 words: str):
    party = {k: v for k, v in PARTIES[1].items() if k not in ("sex", "birth_year")}
    body = case_body(parties=[PARTIES[0], {**party, **changes}])
    before = snapshot(api.rt)
    r = api.post("/cases", body)
    problem = assert_problem(r, 422, f"parties.1.{field}")
    assert words in problem["errors"][0]["message"]
    assert snapshot(api.rt) == before


def test_a_valid_id_number_gives_sex_and_year_and_an_organisation_its_code(api: Api):
    party = {k: v for k, v in PARTIES[1].items() if k not in ("sex", "birth_year")}
    org = {"role": "third_party", "kind": "organization", "name": "杭州某物业服务有限公司",
           "credit_code": "91330103ma2b3c4d52", "legal_representative": "周建国",
           "agents": [{"kind": "agent", "name": "王律师", "relation": "律师",
                       "authority": "特别授权"}]}
    case = _case(api, parties=[PARTIES[0], party, org])
    person, company = case["parties"][1], case["parties"][2]
    assert (person["sex"], person["birth_year"]) == ("男", 1975)
    assert company["credit_code"] == "91330103MA2B3C4D52"
    assert company["agents"] == [{"kind": "agent", "name": "王律师", "relation": "律师",
                                  "authority": "特别授权", "phone": None}]


def test_an_organisation_needs_its_legal_representative_on_the_agreement(api: Api):
    org = {"role": "third_party", "kind": "organization", "name": "杭州某物业服务有限公司",
           "credit_code": "91330103MA2B3C4D52"}
    case = api.fire(_case(api, parties=[*PARTIES, org])["id"], "accept", "v1")
    body = api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT)).get_json()
    assert body["missing"] == ["parties.2.legal_representative"]
    assert body["copies"] == 4


# -- a mediator who is a party ---------------------------------------------------------------

def _live_as(api: Api, username: str, full_name: str, address: str) -> None:
    with api.rt.db.session() as s:
        user = s.query(User).filter_by(username=username).one()
        user.full_name, user.address = full_name, address


def test_a_mediator_who_is_a_party_is_refused_and_a_namesake_warned(api: Api):
    _live_as(api, "v1b", PARTIES[0]["name"], PARTIES[0]["address"])
    case = _case(api)
    r = api.post(f"/cases/{case['id']}/transitions",
                 {"trigger": "accept", "expected_version": case["version"]}, "v1b")
    assert "回避" in assert_problem(r, 403)["detail"]
    _live_as(api, "r1", PARTIES[1]["name"], PARTIES[1]["address"])
    case = api.fire(case["id"], "escalate", "v1", {"reason": "分歧大"})
    r = api.post(f"/cases/{case['id']}/transitions",
                 {"trigger": "assign_center", "expected_version": case["version"],
                  "data": {"mediator": "r1"}}, "r1")
    assert "回避" in assert_problem(r, 422, "data.mediator")["errors"][0]["message"]
    _live_as(api, "r1", PARTIES[1]["name"], "别处")  # the same name elsewhere: a warning
    case = api.fire(case["id"], "assign_center", "r1", {"mediator": "r1"})
    assert any("同名" in w for w in case["warnings"])


# -- the flow --------------------------------------------------------------------------------

def test_a_report_a_reviewer_accepted_can_be_escalated(api: Api):
    case = api.fire(_case(api)["id"], "accept", "r1")
    assert "escalate" in {t["trigger"] for t in case["available_triggers"]}
    case = api.fire(case["id"], "escalate", "r1", {"reason": "需中心协调"})
    assert case["state"] == "escalated"


def test_return_to_grid_hands_the_case_back_to_who_had_it(api: Api):
    case = api.fire(_case(api)["id"], "accept", "v1b")
    case = api.fire(case["id"], "escalate", "v1b", {"reason": "分歧大"})
    assert case["assignee"] is None
    case = api.fire(case["id"], "return_to_grid", "r1", {"instructions": "继续做工作"})
    assert (case["state"], case["assignee"]) == ("grid_mediation", "v1b")
    # the handler can sign the agreement at once
    api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT), "v1b")
    assert _sign(api, case["id"], "mediator", user="v1b").status_code == 201
    # nobody had it in the grid: it goes to the grid's volunteers
    other = api.fire(_case(api)["id"], "escalate", "v1", {"reason": "直接上报"})
    other = api.fire(other["id"], "return_to_grid", "r1", {"instructions": "网格先调"})
    assert (other["state"], other["assignee"]) == ("grid_mediation", None)
    assert "accept" not in {t["trigger"] for t in other["available_triggers"]}
    assert "escalate" in {t["trigger"] for t in api.case(other["id"], "v1b")["available_triggers"]}


def test_the_grids_volunteers_record_follow_ups_whoever_handled_the_case(api: Api):
    case = api.fire(_case(api)["id"], "escalate", "v1", {"reason": "分歧大"})
    case = api.fire(case["id"], "refer_legal", "r1", {"lawyer": "l1"})
    api.put(f"/cases/{case['id']}/agreement", dict(AGREEMENT), "l1")
    _sign_all(api, case, "l1")
    case = api.fire(case["id"], "sign_agreement", "l1")
    assert case["assignee"] == "l1"
    assert "record_follow_up" in api.case(case["id"], "v1b")["available_actions"]
    api.act(case["id"], "record_follow_up", "v1b",
            {"date": TODAY, "method": "上门", "result": "performed"})
    # a volunteer of another grid does not see it at all
    r = api.post(f"/cases/{case['id']}/actions", {"action": "record_follow_up", "data": {
        "date": TODAY, "method": "上门", "result": "performed"}}, "v2")
    assert_problem(r, 404)
    # the follow-up counts for closing: the lawyer closes
    case = api.fire(case["id"], "confirm_performance", "l1")
    assert case["state"] == "resolved"

