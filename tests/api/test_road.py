"""The whole road of a dispute through the API (issue 2, "Done when"): whistle, accept,
session record, escalate, refer to a lawyer, agreement with every signature, sign, follow-up,
confirm performance → ``resolved``, with a chain that verifies through the API and the CLI."""

from __future__ import annotations

import itertools
from datetime import datetime

from click.testing import CliRunner
from sqlalchemy import update

from mediation.cases.dates import CHINA
from mediation.cli import main
from mediation.workflow.models import Event
from tests.api.conftest import Api, assert_problem
from tests.factories import TODAY, case_body

NOW = datetime.now(CHINA).isoformat(timespec="seconds")  # China time, with its offset


def fire(api: Api, case: dict, trigger: str, user: str, data: dict | None = None) -> dict:
    r = api.post(f"/cases/{case['id']}/transitions",
                 {"trigger": trigger, "expected_version": case["version"], "data": data or {}},
                 user)
    assert r.status_code == 200, (trigger, r.get_json())
    out = r.get_json()
    assert out["version"] == case["version"] + 1
    return out


def triggers(case: dict) -> set[str]:
    return {t["trigger"] for t in case["available_triggers"]}


def test_whistle_to_resolved(api: Api) -> None:
    r = api.post("/cases", case_body(), "v1", headers={"Idempotency-Key": "road-1"})
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"].endswith(f"/api/v1/cases/{r.get_json()['id']}")
    case = r.get_json()
    assert (case["state"], case["state_label"], case["version"]) == ("reported", "已吹哨待受理", 1)
    assert case["source"] == "whistle" and case["grid"] == "G1"
    assert [p["name"] for p in case["parties"]] == ["张桂芳", "李建国"]
    assert {"accept", "escalate", "reject", "withdraw"} <= triggers(case)
    applicant, respondent = (p["id"] for p in case["parties"])

    case = fire(api, case, "accept", "v1")
    assert (case["state"], case["assignee"]) == ("grid_mediation", "v1")
    event = api.act(case["id"], "record_session", "v1", {
        "date": TODAY, "place": "社区调解室", "participants": ["张桂芳", "李建国", "王阿姨"],
        "summary": "双方陈述了漏水经过，对赔偿金额分歧较大", "outcome": "未达成一致"})
    assert event["kind"] == "action" and event["name"] == "record_session"
    assert event["data"]["participants"] == ["张桂芳", "李建国", "王阿姨"]
    case = api.case(case["id"], "v1")
    case = fire(api, case, "escalate", "v1", {"reason": "双方对赔偿金额分歧较大"})
    assert (case["state"], case["assignee"]) == ("escalated", None)
    case = api.case(case["id"], "r1")
    assert "refer_legal" in triggers(case)
    case = fire(api, case, "refer_legal", "r1", {"lawyer": "l1"})
    assert (case["state"], case["assignee"]) == ("legal_service", "l1")

    case = api.case(case["id"], "l1")  # the lawyer now sees it
    agreement = {
        "facts": "501室卫生间防水层老化渗漏，致401室天花板霉变。",
        "dispute_matters": "维修责任及赔偿金额。",
        "responsibilities": "501室业主对渗漏负主要责任。",
        "terms": [
            {"obligor": respondent, "obligee": applicant, "content": "于十日内修复卫生间防水层",
             "amount": None, "due_date": TODAY},
            {"obligor": "李建国", "obligee": "张桂芳", "content": "赔偿张桂芳天花板修复费用",
             "amount": "2000.00", "due_date": TODAY},
            {"obligor": applicant, "obligee": respondent, "content": "配合入户维修",
             "due_date": TODAY}],
        "performance_method": "银行转账", "performance_place": "红石板社区调解室",
        "performance_deadline": TODAY, "copies": 3}
    r = api.put(f"/cases/{case['id']}/agreement", agreement, "l1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["missing"] == [] and len(body["terms"]) == 3
    assert [t["obligor"] for t in body["terms"]] == [respondent, respondent, applicant]
    assert [t["obligee"] for t in body["terms"]] == [applicant, applicant, respondent]
    assert body["terms"][1]["amount"] == "2000.00" and body["copies"] == 3
    assert set(body["unsigned"]) == {"张桂芳", "李建国", "调解员", "调解委员会印章"}
    case = api.case(case["id"], "l1")
    early = api.post(f"/cases/{case['id']}/transitions",
                     {"trigger": "sign_agreement", "expected_version": case["version"]}, "l1")
    assert assert_problem(early, 422, "trigger")["errors"][0]["message"].startswith("以下各方尚未签名")

    signers = [(applicant, "signature"), (respondent, "fingerprint"), ("mediator", "signature"),
               ("committee", "seal")]
    for i, (signer, method) in enumerate(signers):
        r = api.post(f"/cases/{case['id']}/agreement/signatures",
                     {"signer": signer, "method": method, "signed_at": NOW}, "l1")
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["in_force"] is (i == len(signers) - 1)
    assert api.get(f"/cases/{case['id']}/agreement", "l1").get_json()["effective_at"]
    case = api.case(case["id"], "l1")
    case = fire(api, case, "sign_agreement", "l1")
    assert case["state"] == "performing"
    api.act(case["id"], "record_follow_up", "l1",
            {"date": TODAY, "method": "电话回访", "result": "performed", "notes": "已付清"})
    case = api.case(case["id"], "l1")
    case = fire(api, case, "confirm_performance", "l1")
    assert (case["state"], case["state_label"], case["terminal"]) == \
        ("resolved", "调解成功结案", True)
    assert case["available_triggers"] == []
    assert api.case(case["id"], "v1")["state"] == "resolved"

    events = api.get(f"/cases/{case['id']}/events", "r1").get_json()
    assert [(e["kind"], e["name"]) for e in events] == [
        ("created", "aunt_whistle"), ("transition", "accept"), ("action", "record_session"),
        ("transition", "escalate"), ("transition", "refer_legal"), ("agreement", "save_draft"),
        ("signature", "sign"), ("signature", "sign"), ("signature", "sign"),
        ("signature", "sign"), ("transition", "sign_agreement"), ("action", "record_follow_up"),
        ("transition", "confirm_performance")]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for prev, ev in itertools.pairwise(events):
        assert ev["prev_hash"] == prev["hash"]
    for ev in events:
        assert set(ev) >= {"seq", "at", "actor", "kind", "name", "from_state", "to_state",
                           "data", "prev_hash", "hash"}
    assert [e["to_state"] for e in events if e["kind"] == "transition"] == [
        "grid_mediation", "escalated", "legal_service", "performing", "resolved"]
    assert api.get(f"/cases/{case['id']}/events/verify", "l1").get_json() == \
        api.get(f"/cases/{case['id']}/events/verify", "v1").get_json()
    verify = api.get(f"/cases/{case['id']}/events/verify", "l1").get_json()
    assert verify["valid"] is True and verify["events"] == len(events)

    runner = CliRunner()
    result = runner.invoke(main, ["audit", "verify"], obj=api.rt)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["audit", "verify", "--case", case["case_no"]], obj=api.rt)
    assert result.exit_code == 0, result.output


def test_a_tampered_chain_is_reported(api: Api) -> None:
    case_id = api.world.case_in("grid_mediation")
    case_no = api.case(case_id)["case_no"]
    assert api.get(f"/cases/{case_id}/events/verify").get_json()["valid"] is True
    with api.rt.db.session() as s:
        s.execute(update(Event).where(Event.case_id == case_id, Event.seq == 1)
                  .values(data={"title": "被篡改"}))
    verify = api.get(f"/cases/{case_id}/events/verify").get_json()
    assert verify["valid"] is False and verify["events"] == 2
    result = CliRunner().invoke(main, ["audit", "verify"], obj=api.rt)
    assert result.exit_code == 1
    assert case_no in result.output
