"""The demo data `make run` starts with, and the whole road walked through the API by the
demo users (issue 2, "Done when")."""

from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mediation.cases.demo import DEMO_PASSWORD, USERS, DemoRefused, fill
from mediation.cases.models import Case
from mediation.workflow.audit import verify_case
from tests.factories import TODAY


@pytest.fixture
def demo(rt):
    fill(rt, 30)
    return rt


def test_demo_has_every_role_and_every_state(demo):
    assert {role for _, role, *_ in USERS} == {"volunteer", "reviewer", "lawyer", "admin"}
    with demo.db.session() as s:
        states = Counter(s.scalars(select(Case.state)))
        for definition in demo.store.all_current():
            missing = set(definition.states) - set(states)
            if definition.name == "aunt_whistle":
                assert not missing, f"demo lacks cases in {missing}"
        for case in s.scalars(select(Case)):
            assert verify_case(s, case.id, case.report_no).valid
            # a case number once accepted for mediation, never before
            assert (case.case_no is not None) == (case.accepted_at is not None)
            assert case.case_no is None or "人调字第" in case.case_no
            assert "-报" in case.report_no or "-咨" in case.report_no


def test_demo_refuses_a_database_with_cases(demo):
    with pytest.raises(DemoRefused):
        fill(demo, 1)


def test_demo_command_prints_the_users(rt, monkeypatch):
    from mediation import cli

    monkeypatch.setattr(cli, "runtime", lambda: rt)
    from mediation.cases import cli as cases_cli

    monkeypatch.setattr(cases_cli, "runtime", lambda: rt)
    result = CliRunner().invoke(cli.main, ["demo", "--cases", "12"])
    assert result.exit_code == 0, result.output
    assert "wangayi (volunteer)" in result.output
    again = CliRunner().invoke(cli.main, ["demo", "--cases", "1"])
    assert again.exit_code == 1 and "already holds cases" in again.output


def _login(client, username):
    r = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": "Bearer " + r.get_json()["token"]}


def test_the_whole_road_with_the_demo_users(demo, client):
    """whistle, accept, session record, escalate, refer to a lawyer, agreement with all
    signatures, sign, follow-up, confirm performance: resolved, chain intact."""
    vol, rev, law = _login(client, "wangayi"), _login(client, "zhouzr"), _login(client, "zhenglvshi")

    def fire(headers, case, trigger, data=None):
        r = client.post(f"/api/v1/cases/{case['id']}/transitions", headers=headers,
                        json={"trigger": trigger, "expected_version": case["version"],
                              "data": data or {}})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def act(headers, case, action, data):
        r = client.post(f"/api/v1/cases/{case['id']}/actions", headers=headers,
                        json={"action": action, "data": data})
        assert r.status_code == 201, r.get_json()
        return client.get(f"/api/v1/cases/{case['id']}", headers=headers).get_json()

    r = client.post("/api/v1/cases", headers=vol, json={
        "workflow": "aunt_whistle", "grid": "HSB-01", "category": "邻里", "risk_level": "medium",
        "title": "楼上空调外机滴水", "description": "602室空调外机冷凝水滴落至502室阳台，多次沟通无果。",
        "parties": [
            {"role": "applicant", "kind": "person", "name": "陈玉兰", "sex": "女",
             "birth_year": 1956, "phone": "13811112222", "address": "红石板社区9幢1单元502室"},
            {"role": "respondent", "kind": "person", "name": "刘志强", "sex": "男",
             "birth_year": 1982, "phone": "13933334444", "address": "红石板社区9幢1单元602室"}]})
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["state"] == "reported" and case["case_no"] is None and case["report_no"]
    case = fire(vol, case, "accept")
    assert case["case_no"].startswith("（")
    case = act(vol, case, "record_session", {"date": TODAY, "place": "社区调解室",
                                             "participants": ["陈玉兰", "刘志强"],
                                             "summary": "双方各自陈述", "outcome": "未达成一致"})
    case = fire(vol, case, "escalate", {"reason": "双方分歧较大"})
    assert case["state"] == "escalated"
    case = client.get(f"/api/v1/cases/{case['id']}", headers=rev).get_json()
    case = fire(rev, case, "refer_legal", {"lawyer": "zhenglvshi"})
    assert case["state"] == "legal_service" and case["assignee"] == "zhenglvshi"
    parties = case["parties"]
    early = client.get(f"/api/v1/cases/{case['id']}/documents/agreement.pdf", headers=law)
    assert early.status_code == 409 and early.mimetype == "application/problem+json"
    r = client.put(f"/api/v1/cases/{case['id']}/agreement", headers=law, json={
        "facts": "602室空调冷凝水管脱落，冷凝水滴落至502室阳台。",
        "dispute_matters": "冷凝水管维修及阳台清洁费用。",
        "responsibilities": "602室业主负全部责任。",
        "terms": [{"obligor": parties[1]["id"], "obligee": parties[0]["id"],
                   "content": "三日内重新安装冷凝水管", "due_date": TODAY},
                  {"obligor": parties[1]["id"], "obligee": parties[0]["id"],
                   "content": "支付阳台清洁费", "amount": "300.00", "due_date": TODAY}],
        "performance_method": "当面履行", "performance_place": "红石板社区调解室",
        "performance_deadline": TODAY})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["copies"] == 3
    for signer, method in [(parties[0]["id"], "signature"), (parties[1]["id"], "signature"),
                           ("mediator", "signature"), ("committee", "seal")]:
        r = client.post(f"/api/v1/cases/{case['id']}/agreement/signatures", headers=law,
                        json={"signer": signer, "method": method, "signed_at": TODAY})
        assert r.status_code == 201, r.get_json()
    assert r.get_json()["in_force"] is True
    case = client.get(f"/api/v1/cases/{case['id']}", headers=law).get_json()
    case = fire(law, case, "sign_agreement")
    assert case["state"] == "performing"
    case = act(law, case, "record_follow_up", {"date": TODAY, "method": "电话回访",
                                               "result": "performed"})
    case = fire(law, case, "confirm_performance")
    assert case["state"] == "resolved" and case["terminal"] is True
    verify = client.get(f"/api/v1/cases/{case['id']}/events/verify", headers=law).get_json()
    assert verify["valid"] is True and verify["events"] >= 12

    # the documents of the road: the agreement and the dossier, rendered from the outbox and
    # on request, with a verification code anyone can check
    from mediation.jobs.outbox import process_outbox

    report = process_outbox(demo)
    assert report.failed == 0 and report.done >= 1
    pdf = client.get(f"/api/v1/cases/{case['id']}/documents/agreement.pdf", headers=law)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    code = pdf.headers["X-Verification-Code"]
    checked = client.get(f"/api/v1/verify/{code}").get_json()
    assert checked["valid"] is True and checked["case_no"] == case["case_no"]
    assert "陈玉兰" not in str(checked)
    assert client.get(f"/verify/{code}").status_code == 200
    dossier = client.get(f"/api/v1/cases/{case['id']}/documents/dossier.pdf", headers=rev)
    assert dossier.status_code == 200 and dossier.data.startswith(b"%PDF")
    listing = client.get(f"/api/v1/cases/{case['id']}/documents", headers=law).get_json()
    assert {d["document"] for d in listing if d["available"]} >= {"agreement", "dossier"}
