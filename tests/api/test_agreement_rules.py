"""Signatures go on a complete text, at a time that has come; who may report a case; search
text is taken literally."""

from __future__ import annotations

from tests.api.conftest import Api, assert_problem
from tests.factories import AGREEMENT, case_body


def _in_grid_mediation(api: Api) -> dict:
    r = api.post("/cases", case_body(), "v1")
    case = r.get_json()
    return api.fire(case["id"], "accept", "v1")


def test_a_signature_cannot_be_dated_in_the_future(api: Api):
    case = _in_grid_mediation(api)
    assert api.put(f"/cases/{case['id']}/agreement", AGREEMENT, "v1").status_code == 200
    party = case["parties"][0]["id"]
    r = api.post(f"/cases/{case['id']}/agreement/signatures",
                 {"signer": party, "method": "signature", "signed_at": "2099-01-01T10:00:00Z"},
                 "v1")
    assert_problem(r, 422, "signed_at")
    assert api.get(f"/cases/{case['id']}/agreement", "v1").get_json()["signatures"] == []


def test_an_incomplete_draft_cannot_be_signed(api: Api):
    case = _in_grid_mediation(api)
    draft = {**AGREEMENT, "responsibilities": ""}
    assert api.put(f"/cases/{case['id']}/agreement", draft, "v1").status_code == 200
    r = api.post(f"/cases/{case['id']}/agreement/signatures",
                 {"signer": "mediator", "method": "signature",
                  "signed_at": "2026-11-20T10:00:00+08:00"}, "v1")
    body = assert_problem(r, 409)
    assert "各方当事人的责任" in body["detail"]


def test_a_lawyer_cannot_report_a_case_they_would_not_see(api: Api):
    before = api.get("/cases", "v1").get_json()["total"]
    r = api.post("/cases", case_body(), "l1")
    assert_problem(r, 403)
    assert api.get("/cases", "v1").get_json()["total"] == before


def test_refusals_name_roles_in_chinese(api: Api):
    case = api.post("/cases", case_body(), "v1").get_json()
    case = api.fire(case["id"], "escalate", "v1", {"reason": "分歧大"})
    r = api.post(f"/cases/{case['id']}/transitions",
                 {"trigger": "assign_center", "expected_version": case["version"],
                  "data": {"mediator": "r1"}}, "v1")
    body = assert_problem(r, 403)
    assert "volunteer" not in body["detail"] and "调解志愿者" in body["detail"]


def test_search_text_is_literal(api: Api):
    api.post("/cases", case_body(), "v1")
    assert api.get("/cases?q=_", "v1").get_json()["total"] == 0
    assert api.get("/cases?q=%25", "v1").get_json()["total"] == 0
    assert api.get("/cases?q=漏水", "v1").get_json()["total"] == 1
