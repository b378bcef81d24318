"""Scope and permission through the API: 404 outside sight (never 403), lawyers' sight,
``available_triggers`` per user against what firing actually allows, 403 for a visible case
the role may not act on, 409 on a stale version or the wrong state. Refusals change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from mediation.cases.dates import CHINA
from mediation.resources import data_dir
from mediation.workflow.definition import load_file
from tests.api.conftest import Api, assert_problem, snapshot
from tests.factories import AGREEMENT, TODAY, World

DEFINITION = load_file(data_dir("workflows") / "aunt_whistle.toml")
NOW = datetime.now(CHINA).isoformat(timespec="seconds")  # China time, with its offset


def every_case_request(case_id: int) -> list[tuple[str, str, Any]]:
    base = f"/cases/{case_id}"
    return [
        ("GET", base, None), ("GET", base + "/events", None),
        ("GET", base + "/events/verify", None), ("GET", base + "/agreement", None),
        ("POST", base + "/transitions",
         {"trigger": "escalate", "expected_version": 1, "data": {"reason": "x"}}),
        ("POST", base + "/transitions", {"trigger": "accept", "expected_version": 1}),
        ("POST", base + "/actions", {"action": "add_note", "data": {"text": "x"}}),
        ("PUT", base + "/agreement", dict(AGREEMENT)),
        ("POST", base + "/agreement/signatures",
         {"signer": "mediator", "method": "signature", "signed_at": NOW}),
    ]


@pytest.mark.parametrize("state", ["reported", "grid_mediation", "performing"])
def test_case_outside_sight_is_404_for_everything(api: Api, state: str) -> None:
    case_id = api.world.case_in(state)  # a G1 case handled by v1 (or nobody)
    before = snapshot(api.rt)
    for user in ("v2", "v3", "r2", "r9", "l1", "l2"):  # other grid, street, district; lawyers
        for method, path, body in every_case_request(case_id):
            r = api.request(method, path, user, json=body)
            problem = assert_problem(r, 404)
            assert problem["detail"] == "案件不存在或无权查看", (user, path)
        items = api.get("/cases?per_page=100", user).get_json()["items"]
        assert case_id not in [c["id"] for c in items]
    assert snapshot(api.rt) == before
    # ... while the grid's volunteers and the street's reviewer see it
    for user in ("v1", "v1b", "r1"):
        assert api.get(f"/cases/{case_id}", user).status_code == 200


def test_404_looks_the_same_as_a_missing_case(api: Api) -> None:
    case_id = api.world.new_case()
    hidden = api.get(f"/cases/{case_id}", "v3")
    missing = api.get("/cases/999999", "v3")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()


def test_lawyers_see_only_cases_referred_to_their_district(api: Api) -> None:
    w = api.world
    referred = w.case_in("legal_service")  # referred by r1 to l1 (district D1)
    not_referred = w.case_in("center_mediation")
    assert api.get(f"/cases/{referred}", "l1").status_code == 200
    assert api.get(f"/cases/{referred}", "l2").status_code == 404
    assert_problem(api.get(f"/cases/{not_referred}", "l1"), 404)
    items = api.get("/cases", "l1").get_json()
    assert [c["id"] for c in items["items"]] == [referred] and items["total"] == 1
    assert api.get("/cases", "l2").get_json()["total"] == 0
    # the lawyer works the referred case: a session record is accepted
    api.act(referred, "record_session", "l1",
            {"date": TODAY, "summary": "释法说理", "outcome": "双方同意继续协商"})
    assert [e["name"] for e in api.get(f"/cases/{referred}/events", "l1").get_json()][-1] == \
        "record_session"


ROADS: dict[str, list[tuple[str, str | None, dict]]] = {
    **World.PATHS,
    "legal_service": World.PATHS["legal_service"],
}
OPEN_STATES = ["reported", "grid_mediation", "escalated", "center_mediation", "legal_service",
               "performing"]
USERS = ["v1", "v1b", "v2", "r1", "r2", "l1", "l2"]


@pytest.mark.parametrize("state", OPEN_STATES)
def test_available_triggers_are_exactly_what_firing_allows(api: Api, state: str) -> None:
    """For every user and every trigger of the definition: listed ⇔ not refused with 403/409.

    A listed trigger fired with no data may still be 422 (data or a guard missing) but never
    403 or 409; an unlisted one is always 403 or 409 (404 when the case is out of sight).
    """
    case_id = api.world.case_in(state)
    for user in USERS:
        shown = api.get(f"/cases/{case_id}", user)
        if shown.status_code == 404:
            available: set[str] | None = None
        else:
            body = shown.get_json()
            available = {t["trigger"] for t in body["available_triggers"]}
            for t in body["available_triggers"]:
                assert t["label"] and t["requires"] == list(
                    DEFINITION.transitions[t["trigger"]].requires)
        version = api.world.case(case_id).version
        for trigger in DEFINITION.transitions:
            r = api.post(f"/cases/{case_id}/transitions",
                         {"trigger": trigger, "expected_version": version, "data": {}}, user)
            if available is None:
                assert r.status_code == 404, (user, trigger, r.get_json())
            elif trigger in available:
                assert r.status_code in (200, 422), (user, trigger, r.get_json())
            elif state in DEFINITION.transitions[trigger].sources:
                assert r.status_code == 403, (user, trigger, r.get_json())
            else:
                assert r.status_code == 409, (user, trigger, r.get_json())
            if r.status_code == 200:  # it moved: take a fresh case in the state for the rest
                case_id = api.world.case_in(state)
                version = api.world.case(case_id).version
            else:
                assert api.world.case(case_id).version == version, (user, trigger)


def test_403_for_a_visible_case_the_user_may_not_act_on(api: Api) -> None:
    w = api.world
    grid = w.case_in("grid_mediation")       # handled by v1
    escalated = w.case_in("escalated")       # no handler, waiting for a reviewer
    before = snapshot(api.rt)
    refusals = [
        ("v1b", grid, "transitions", {"trigger": "escalate", "data": {"reason": "x"}}),
        ("v1", escalated, "transitions", {"trigger": "assign_center", "data": {}}),
        ("v1", escalated, "transitions", {"trigger": "refer_legal", "data": {"lawyer": "l1"}}),
        ("v1b", grid, "actions", {"action": "record_session",
                                  "data": {"date": TODAY, "summary": "s",
                                           "outcome": "o"}}),
        ("v1b", grid, "agreement", dict(AGREEMENT)),
    ]
    for user, case_id, what, body in refusals:
        if what == "transitions":
            body = {**body, "expected_version": w.case(case_id).version}
        method = "PUT" if what == "agreement" else "POST"
        for lang, word in ((None, "无权执行此操作"), ("en", "You may not do this")):
            r = api.request(method, f"/cases/{case_id}/{what}", user, json=body, lang=lang)
            assert assert_problem(r, 403)["title"] == word
    assert snapshot(api.rt) == before
    # a note is open to anyone who sees the case; the street's reviewer supervises
    api.act(grid, "add_note", "v1b", {"text": "我也去看过了"})
    api.act(grid, "record_session", "r1",
            {"date": TODAY, "summary": "督办", "outcome": "继续调解"})
    # escalate is a volunteer's trigger, but the handler is a volunteer: the supervisor may
    api.fire(grid, "escalate", "r1", {"reason": "审查员督办上报"})


def test_409_on_stale_version_and_wrong_state(api: Api) -> None:
    w = api.world
    case_id = w.case_in("grid_mediation")
    version = w.case(case_id).version
    before = snapshot(api.rt)
    for stale in (version - 1, version + 1, 10**12):
        r = api.post(f"/cases/{case_id}/transitions",
                     {"trigger": "escalate", "expected_version": stale,
                      "data": {"reason": "x"}}, "v1")
        body = assert_problem(r, 409)
        assert body["current_version"] == version
    en = api.post(f"/cases/{case_id}/transitions",
                  {"trigger": "escalate", "expected_version": version - 1,
                   "data": {"reason": "x"}}, "v1", lang="en").get_json()
    assert "reload" in en["detail"]
    wrong_state = [
        ("v1", "confirm_performance", {}), ("v1", "accept", {}),
        ("r1", "assign_center", {"mediator": "r1"}), ("r1", "refer_legal", {"lawyer": "l1"}),
        ("v1", "report_breach", {"reason": "x"}),
    ]
    for user, trigger, data in wrong_state:
        r = api.post(f"/cases/{case_id}/transitions",
                     {"trigger": trigger, "expected_version": version, "data": data}, user)
        assert assert_problem(r, 409).get("current_state") == "grid_mediation", trigger
    # an action outside its states, and the agreement of a closed case
    r = api.post(f"/cases/{case_id}/actions",
                 {"action": "record_follow_up",
                  "data": {"date": TODAY, "method": "上门", "result": "performed"}})
    assert_problem(r, 409)
    assert snapshot(api.rt) == before
    closed = w.case_in("withdrawn")
    assert_problem(api.put(f"/cases/{closed}/agreement", dict(AGREEMENT)), 409)
    r = api.post(f"/cases/{closed}/transitions",
                 {"trigger": "withdraw", "expected_version": w.case(closed).version,
                  "data": {"statement": "x"}})
    assert_problem(r, 409)
    # the version moves with every change, so the loser of a race is told
    first = api.post(f"/cases/{case_id}/transitions",
                     {"trigger": "escalate", "expected_version": version,
                      "data": {"reason": "分歧大"}})
    assert first.status_code == 200 and first.get_json()["version"] == version + 1
    again = api.post(f"/cases/{case_id}/transitions",
                     {"trigger": "escalate", "expected_version": version,
                      "data": {"reason": "分歧大"}})
    assert_problem(again, 409)
    assert len(api.get(f"/cases/{case_id}/events").get_json()) == version + 1


def test_signature_refusals(api: Api) -> None:
    w = api.world
    case_id = w.case_in("grid_mediation")
    sig = {"signer": "mediator", "method": "signature", "signed_at": NOW}
    # no agreement yet → 409
    assert_problem(api.post(f"/cases/{case_id}/agreement/signatures", sig), 409)
    assert api.put(f"/cases/{case_id}/agreement", dict(AGREEMENT)).status_code == 200
    assert api.post(f"/cases/{case_id}/agreement/signatures", sig).status_code == 201
    before = snapshot(api.rt)
    assert_problem(api.post(f"/cases/{case_id}/agreement/signatures", sig), 409)  # twice
    assert_problem(api.post(f"/cases/{case_id}/agreement/signatures", sig, "v1b"), 403)
    assert_problem(api.post(f"/cases/{case_id}/agreement/signatures", sig, "v3"), 404)
    assert snapshot(api.rt) == before
