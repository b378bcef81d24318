"""The engine's rules beyond who may fire what (DESIGN.md §2–3, §5–6): the high-risk rule,
converting a consultation, conflict-of-interest warnings, required data, guards and their
reasons in both languages, validated actions, the written agreement, the tamper-evident trail
and encrypted personal numbers.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from mediation.auth.models import User
from mediation.cases import conflicts
from mediation.cases.models import Agreement, Case, Party
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.errors import (
    Conflict,
    Forbidden,
    MediationError,
    NotFound,
    ValidationFailed,
)
from mediation.resources import data_dir
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow.audit import verify_case
from mediation.workflow.definition import Definition, load_file
from mediation.workflow.models import Event, OutboxRow
from tests.conftest import make_config
from tests.factories import AGREEMENT, PARTIES, TODAY, USERS, World, case_body

DEFINITION: Definition = load_file(data_dir("workflows") / "aunt_whistle.toml")
CONSULTATION: Definition = load_file(data_dir("workflows") / "consultation.toml")

# -- a world per module; case tables emptied (and users restored) before each test --------

# -- helpers -----------------------------------------------------------------------------

def fire(w: World, case_id: int, trigger: str, who: str | None, data: dict | None = None,
         **kw: Any) -> Any:
    with w.rt.db.session() as s:
        actor = w.user(s, who) if who else None
        return w.rt.engine.fire(s, case_id, trigger, actor=actor, data=data or {}, **kw)


def act(w: World, case_id: int, action: str, who: str, data: dict) -> Any:
    with w.rt.db.session() as s:
        return w.rt.engine.act(s, case_id, action, actor=w.user(s, who), data=data)


def events(w: World, case_id: int) -> list[Event]:
    with w.rt.db.session() as s:
        return list(s.scalars(select(Event).where(Event.case_id == case_id)
                              .order_by(Event.seq)))


def snapshot(w: World, case_id: int) -> tuple[str, int, int]:
    case = w.case(case_id)
    return case.state, case.version, len(events(w, case_id))


def refused(w: World, case_id: int, error: type[MediationError], call: Any) -> MediationError:
    """``call()`` raises ``error`` and changes nothing."""
    before = snapshot(w, case_id)
    with pytest.raises(error) as info:
        call()
    assert snapshot(w, case_id) == before
    return info.value


def errors_of(exc: MediationError, lang: str = "en") -> list[tuple[str, str]]:
    return [(e.field, e.message.render(lang)) for e in exc.errors]


def set_user(w: World, username: str, **values: Any) -> None:
    with w.rt.db.session() as s:
        s.execute(update(User).where(User.username == username).values(**values))


# -- high risk ---------------------------------------------------------------------------

def test_a_high_risk_report_is_escalated_at_once_and_the_police_post_told(world: World) -> None:
    (rule,) = [r for r in DEFINITION.rules if r.on == "create"]
    assert rule.when == {"risk_level": "high"}
    case_id = world.new_case(risk_level="high")
    case = world.case(case_id)
    assert case.state == DEFINITION.transitions[rule.fire].dest == "escalated"
    evs = events(world, case_id)
    assert [(e.kind, e.name, e.actor, e.from_state, e.to_state) for e in evs] == [
        ("created", "aunt_whistle", "v1", None, "reported"),
        ("transition", "escalate", "system", "reported", "escalated")]
    assert evs[1].data["police_notified"] is True
    assert evs[1].data["reason"] == rule.data["reason"]
    assert case.version == 2
    with world.rt.db.session() as s:
        rows = s.scalars(select(OutboxRow).where(OutboxRow.case_id == case_id)).all()
        # the centre (the escalation's own notice) and the police post (the rule's)
        assert [(r.effect, r.payload, r.event_seq) for r in rows] == [
            ("notify", {"target": "supervisors"}, 2), ("notify", {"target": "police_post"}, 2)]
        assert verify_case(s, case_id, case.report_no).valid


@pytest.mark.parametrize("risk", ["low", "medium"])
def test_other_reports_wait_for_a_mediator(world: World, risk: str) -> None:
    case_id = world.new_case(risk_level=risk)
    assert world.case(case_id).state == DEFINITION.initial
    with world.rt.db.session() as s:
        assert s.scalars(select(OutboxRow.effect).where(OutboxRow.case_id == case_id)).all() == []


# -- consultation ------------------------------------------------------------------------

@pytest.mark.parametrize("answered_first", [False, True])
def test_converting_a_consultation_opens_a_mediation_case(world: World,
                                                          answered_first: bool) -> None:
    consultation_id = world.new_case("v2", workflow="consultation", grid="G2",
                                     title="咨询：邻居噪音")
    converter = "v2"
    if answered_first:  # the one who answers handles the consultation from then on
        fire(world, consultation_id, "answer", "r1", {"answer": "可申请人民调解"})
        refused(world, consultation_id, Forbidden, lambda: fire(
            world, consultation_id, "convert", "v2", {"reason": "双方同意调解"}))
        converter = "r1"
    fire(world, consultation_id, "convert", converter, {"reason": "双方同意调解"})

    consultation = world.case(consultation_id)
    assert consultation.state == CONSULTATION.transitions["convert"].dest == "converted"
    assert consultation.closed_at is not None
    assert "-咨" in consultation.report_no and consultation.case_no is None
    with world.rt.db.session() as s:
        opened = s.scalar(select(Case).where(Case.origin_case_id == consultation_id))
        assert opened is not None
        assert (opened.workflow, opened.state, opened.source, opened.grid.code) == (
            "aunt_whistle", DEFINITION.initial, "consultation", "G2")
        assert "-报" in opened.report_no and opened.case_no is None  # not accepted yet
        assert opened.title == "咨询：邻居噪音"
        assert [p.name for p in opened.parties] == [p["name"] for p in PARTIES]
        assert [world.rt.cipher.decrypt(p.phone_enc) for p in opened.parties] == [
            p["phone"] for p in PARTIES]
        opened_id, opened_no = opened.id, opened.report_no
        assert verify_case(s, consultation_id, consultation.report_no).valid
        assert verify_case(s, opened_id, opened_no).valid
    trail = events(world, consultation_id)
    assert [(e.kind, e.name) for e in trail[-2:]] == [("transition", "convert"),
                                                      ("system", "opened_case")]
    assert trail[-1].data == {"case_no": opened_no, "report_no": opened_no,
                              "case_id": opened_id}
    assert events(world, opened_id)[0].data["origin"] == consultation.report_no
    assert consultation.version == len(trail)


def test_a_consultation_cannot_be_converted_twice_or_without_a_reason(world: World) -> None:
    consultation_id = world.new_case("v2", workflow="consultation", grid="G2")
    exc = refused(world, consultation_id, ValidationFailed,
                  lambda: fire(world, consultation_id, "convert", "v2"))
    assert errors_of(exc) == [("data.reason", "This field is required")]
    fire(world, consultation_id, "convert", "v2", {"reason": "转调解"})
    refused(world, consultation_id, Conflict,
            lambda: fire(world, consultation_id, "convert", "v2", {"reason": "再转"}))
    with world.rt.db.session() as s:
        assert len(s.scalars(select(Case.id).where(
            Case.origin_case_id == consultation_id)).all()) == 1


# -- conflicts of interest ---------------------------------------------------------------

def warning_keys(outcome: Any) -> list[str]:
    return [w.text for w in outcome.warnings]


def test_accept_warns_of_a_mediator_living_at_a_partys_address(world: World) -> None:
    set_user(world, "v1", address=PARTIES[0]["address"])
    case_id = world.new_case()
    outcome = fire(world, case_id, "accept", "v1")
    assert warning_keys(outcome) == [conflicts.SAME_ADDRESS.text]
    assert outcome.case.state == "grid_mediation"  # a warning, not a refusal
    data = events(world, case_id)[-1].data
    assert data["assignee"] == "v1"
    (warning,) = data["warnings"]
    assert PARTIES[0]["name"] in warning["zh-CN"] and "same address" in warning["en"]


def test_assign_center_warns_of_a_shared_surname_and_building(world: World) -> None:
    set_user(world, "r1", full_name="李主任", address="红石板社区3幢1单元101室")
    case_id = world.new_case()
    fire(world, case_id, "escalate", "v1", {"reason": "分歧大"})
    outcome = fire(world, case_id, "assign_center", "r1", {"mediator": "r1"})
    assert warning_keys(outcome) == [conflicts.SAME_BUILDING.text]
    assert outcome.warnings[0].params["party"] == "李建国"  # 李, in 3幢 like the mediator


def test_refer_legal_warns_of_an_earlier_case_with_a_party(world: World) -> None:
    lawyer = next(u[3] for u in USERS if u[0] == "l1")
    earlier = world.new_case(parties=[
        {**PARTIES[0]}, {"role": "respondent", "kind": "person", "name": lawyer}])
    case_id = world.new_case()
    fire(world, case_id, "escalate", "v1", {"reason": "分歧大"})
    outcome = fire(world, case_id, "refer_legal", "r1", {"lawyer": "l1"})
    assert warning_keys(outcome) == [conflicts.EARLIER_CASE.text]
    assert outcome.warnings[0].params == {"mediator": lawyer, "party": "张桂芳",
                                          "case_no": world.case(earlier).case_no}
    assert events(world, case_id)[-1].data["warnings"][0]["zh-CN"].count("张桂芳") == 1


def test_no_link_no_warning(world: World) -> None:
    case_id = world.new_case()
    outcome = fire(world, case_id, "accept", "v1b")
    assert outcome.warnings == []
    assert "warnings" not in events(world, case_id)[-1].data


# -- required data, unknown triggers and fields ------------------------------------------

@pytest.mark.parametrize("trigger", [t for t in DEFINITION.transitions_from("reported")
                                     if "reason" in t.requires], ids=lambda t: t.trigger)
def test_a_missing_reason_is_named(world: World, trigger: Any) -> None:
    case_id = world.new_case()
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, trigger.trigger, "v1"))
    assert exc.status == 422
    assert errors_of(exc) == [("data.reason", "This field is required")]
    assert errors_of(exc, "zh-CN") == [("data.reason", "此项为必填项")]
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, trigger.trigger, "v1", {"reason": "   "}))
    assert errors_of(exc) == [("data.reason", "Must not be blank")]


def test_every_missing_field_is_named_at_once(world: World) -> None:
    case_id = world.case_in("center_mediation")
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "end_without_agreement", "r1",
                               {"routes_informed": False}))
    assert errors_of(exc) == [("data.routes_informed", "Must be confirmed (true)"),
                              ("data.reason", "This field is required")]


def test_the_mediator_defaults_to_the_acting_reviewer(world: World) -> None:
    case_id = world.case_in("escalated")
    outcome = fire(world, case_id, "assign_center", "r1")
    assert outcome.case.assignee.username == "r1"
    assert events(world, case_id)[-1].data["mediator"] == "r1"


@pytest.mark.parametrize(("lawyer", "message"), [
    ("nobody", "No user 'nobody'"),
    ("r1", "User 'r1' is not a lawyer"),
    ("l2", "User 'l2' does not serve this case's area"),
    (7, "Invalid value, expected username"),
])
def test_a_referral_names_a_lawyer_who_serves_the_case(world: World, lawyer: Any,
                                                       message: str) -> None:
    case_id = world.case_in("escalated")
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "refer_legal", "r1", {"lawyer": lawyer}))
    assert errors_of(exc) == [("data.lawyer", message)]


def test_an_unknown_trigger_is_named(world: World) -> None:
    case_id = world.new_case()
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "fly_away", "v1"))
    assert errors_of(exc) == [("trigger", "Workflow 'aunt_whistle' has no trigger 'fly_away'")]


def test_an_unknown_data_field_is_named(world: World) -> None:
    case_id = world.new_case()
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "accept", "v1", {"police": True}))
    assert errors_of(exc) == [("data.police", "Unknown field")]


def test_a_stale_version_is_a_conflict(world: World) -> None:
    case_id = world.new_case()
    version = world.case(case_id).version
    act(world, case_id, "add_note", "v1", {"text": "先记一笔"})
    exc = refused(world, case_id, Conflict,
                  lambda: fire(world, case_id, "accept", "v1", expected_version=version))
    assert exc.status == 409 and exc.extra["current_version"] == version + 1


def test_a_case_out_of_sight_is_not_found_not_forbidden(world: World) -> None:
    case_id = world.case_in("legal_service")
    for who in ("r2", "v3", "l2", "r9"):
        exc = refused(world, case_id, NotFound,
                      lambda who=who: fire(world, case_id, "withdraw", who, {"statement": "撤"}))
        assert exc.status == 404
    refused(world, case_id, NotFound,
            lambda: act(world, case_id, "add_note", "l2", {"text": "看看"}))


# -- guards, with reasons in both languages ----------------------------------------------

def guard_reasons(exc: MediationError) -> list[tuple[str, str]]:
    return [(e.message.render("zh-CN"), e.message.render("en"))
            for e in exc.errors if e.field == "trigger"]


def test_signing_without_an_agreement_says_why_in_both_languages(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "sign_agreement", "v1"))
    assert guard_reasons(exc) == [("尚未制作书面调解协议，也未登记口头协议",
                                   "No written agreement and no registered oral agreement")]


def test_a_registered_oral_agreement_is_enough_to_sign(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    act(world, case_id, "register_oral_agreement", "v1",
        {"content": "李建国三日内修好防水层", "date": TODAY})
    assert fire(world, case_id, "sign_agreement", "v1").case.state == "performing"


def test_closing_needs_a_follow_up_with_the_result_performed(world: World) -> None:
    case_id = world.case_in("performing")
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "confirm_performance", "v1"))
    assert guard_reasons(exc) == [("尚未记录结果为“已履行”的回访",
                                   "No follow-up visit with the result 'performed' is recorded")]
    act(world, case_id, "record_follow_up", "v1",
        {"date": TODAY, "method": "上门", "result": "partly"})
    refused(world, case_id, ValidationFailed,
            lambda: fire(world, case_id, "confirm_performance", "v1"))
    act(world, case_id, "record_follow_up", "v1",
        {"date": TODAY, "method": "上门", "result": "performed"})
    assert fire(world, case_id, "confirm_performance", "v1").case.state == "resolved"


def test_a_follow_up_from_an_earlier_performance_does_not_count(world: World) -> None:
    case_id = world.case_in("performing")
    act(world, case_id, "record_follow_up", "v1",
        {"date": TODAY, "method": "上门", "result": "performed"})
    fire(world, case_id, "report_breach", "v1", {"reason": "又漏水了"})
    fire(world, case_id, "assign_center", "r1", {"mediator": "r1"})
    act(world, case_id, "register_oral_agreement", "r1", {"content": "重新约定", "date": TODAY})
    fire(world, case_id, "sign_agreement", "r1")
    refused(world, case_id, ValidationFailed,
            lambda: fire(world, case_id, "confirm_performance", "r1"))


# -- actions -----------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "data", "expected"), [
    ("record_session", {"date": "2026-02-30", "summary": "调解", "outcome": "未果"},
     [("data.date", "Not a date (use YYYY-MM-DD)")]),
    ("record_session", {"date": "下周三", "summary": "调解", "outcome": "未果"},
     [("data.date", "Not a date (use YYYY-MM-DD)")]),
    ("record_session", {"summary": "调解"},
     [("data.date", "This field is required"), ("data.outcome", "This field is required")]),
    ("record_session", {"date": TODAY, "summary": "调解", "outcome": "未果",
                        "participants": 5}, [("data.participants", "Must be a list")]),
    ("record_follow_up", {"date": TODAY, "method": "电话", "result": "maybe"},
     [("data.result", "Invalid value; choose one of: performed, partly, not_performed")]),
    ("record_investigation", {"date": TODAY, "findings": "属实", "weather": "晴"},
     [("data.weather", "Unknown field")]),
    ("add_note", {"text": "x" * 5001}, [("data.text", "Must be at most 5000 characters")]),
    ("reassign", {"to": "r2", "reason": "回避"},
     [("data.to", "User 'r2' does not serve this case's area")]),
])
def test_actions_are_validated(world: World, action: str, data: dict,
                               expected: list[tuple[str, str]]) -> None:
    state = "performing" if action == "record_follow_up" else "grid_mediation"
    case_id = world.case_in(state)
    exc = refused(world, case_id, ValidationFailed, lambda: act(world, case_id, action, "v1",
                                                                data))
    assert errors_of(exc) == expected


def test_a_valid_action_is_recorded_cleaned_without_moving_the_case(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    state, version, count = snapshot(world, case_id)
    act(world, case_id, "record_session", "v1", {
        "date": f"{TODAY}T10:30:00+08:00", "summary": " 双方陈述意见 ", "outcome": "初步达成一致",
        "participants": "张桂芳、李建国，王阿姨"})
    assert snapshot(world, case_id) == (state, version + 1, count + 1)
    ev = events(world, case_id)[-1]
    assert (ev.kind, ev.name, ev.actor, ev.from_state, ev.to_state) == (
        "action", "record_session", "v1", state, state)
    assert ev.data == {"date": TODAY, "summary": "双方陈述意见", "outcome": "初步达成一致",
                       "participants": ["张桂芳", "李建国", "王阿姨"]}


def _first_state_outside(states: tuple[str, ...]) -> str:
    return next(s for s in DEFINITION.states if s not in states)


VALID_ACTION_DATA = {
    "record_investigation": {"date": TODAY, "findings": "属实"},
    "record_session": {"date": TODAY, "summary": "调解", "outcome": "未果"},
    "record_follow_up": {"date": TODAY, "method": "电话", "result": "performed"},
    "register_oral_agreement": {"content": "口头协议", "date": TODAY},
    "record_judicial_confirmation": {"court": "上城区人民法院", "applied_on": TODAY},
    "reassign": {"to": "v1b", "reason": "回避"},
}


@pytest.mark.parametrize("action", [a for a in DEFINITION.actions.values()
                                    if a.states is not None], ids=lambda a: a.name)
def test_an_action_outside_its_states_is_a_conflict(world: World, action: Any) -> None:
    assert set(VALID_ACTION_DATA[action.name]) == set(action.requires)
    state = _first_state_outside(action.states)
    case_id = world.case_in(state)
    exc = refused(world, case_id, Conflict, lambda: act(
        world, case_id, action.name, "r1", VALID_ACTION_DATA[action.name]))
    assert exc.status == 409


@pytest.mark.parametrize("state", [s for s, d in DEFINITION.states.items() if d.terminal])
def test_open_actions_stay_open_to_whoever_sees_the_case(world: World, state: str) -> None:
    case_id = world.case_in(state)
    for who in ("admin", "v1b", "r1"):
        act(world, case_id, "add_note", who, {"text": f"{who}的备注"})
    assert world.case(case_id).state == state
    refused(world, case_id, NotFound,
            lambda: act(world, case_id, "add_note", "v2", {"text": "别的网格"}))


def test_a_role_outside_an_actions_roles_is_forbidden(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    exc = refused(world, case_id, Forbidden, lambda: act(
        world, case_id, "record_session", "admin", VALID_ACTION_DATA["record_session"]))
    assert exc.status == 403


def test_an_unknown_action_is_named(world: World) -> None:
    case_id = world.new_case()
    exc = refused(world, case_id, ValidationFailed,
                  lambda: act(world, case_id, "sing", "v1", {}))
    assert errors_of(exc) == [("action", "Workflow 'aunt_whistle' has no action 'sing'")]


# -- the written agreement ---------------------------------------------------------------

def save(w: World, case_id: int, who: str = "v1", **data: Any) -> Any:
    with w.rt.db.session() as s:
        return save_agreement(s, w.rt.engine, case_id, data, actor=w.user(s, who))


def sign(w: World, case_id: int, signer: str, who: str = "v1", method: str = "signature") -> Any:
    with w.rt.db.session() as s:
        return add_signature(s, w.rt.engine, case_id, signer=signer, method=method,
                             signed_at=utcnow(), actor=w.user(s, who))


def party_ids(w: World, case_id: int) -> list[str]:
    with w.rt.db.session() as s:
        return [str(pid) for pid in s.scalars(select(Party.id).where(Party.case_id == case_id)
                                              .order_by(Party.position))]


def test_an_incomplete_agreement_says_what_is_missing(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    save(world, case_id, facts="漏水")
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "sign_agreement", "v1"))
    ((_, en),) = guard_reasons(exc)
    assert en.startswith("The agreement is incomplete:")
    for missing in ("matters in dispute", "terms", "manner of performance"):
        assert missing in en
    assert "facts" not in en


def test_the_chinese_reason_names_the_missing_parts_in_chinese(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    save(world, case_id, facts="漏水")
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "sign_agreement", "v1"))
    ((zh, _),) = guard_reasons(exc)
    assert not any(c.isascii() and c.isalpha() for c in zh), zh


def test_missing_signatures_are_named(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    save(world, case_id, **AGREEMENT)
    sign(world, case_id, party_ids(world, case_id)[0])
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "sign_agreement", "v1"))
    assert guard_reasons(exc) == [("以下各方尚未签名或盖章：李建国、调解员、调解委员会印章",
                                   "Not yet signed or sealed by: 李建国、调解员、调解委员会印章")]


def test_changing_a_signed_draft_makes_a_new_version_and_keeps_the_old(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    save(world, case_id, **AGREEMENT)
    save(world, case_id, **{**AGREEMENT, "facts": "改写了事实"})  # nobody signed: rewritten
    for pid in party_ids(world, case_id):
        sign(world, case_id, pid)
    save(world, case_id, **{**AGREEMENT, "performance_method": "现金"})
    with world.rt.db.session() as s:
        case = s.get(Case, case_id)
        agreement = case.agreement
        assert (agreement.round, agreement.version, agreement.revision) == (1, 2, 1)
        assert (agreement.signatures, agreement.effective_at) == ([], None)
        old = [a for a in case.agreements if a.id != agreement.id]
        assert [(a.version, a.status, len(a.signatures), a.revision, a.performance_method)
                for a in old] == [(1, "superseded", 2, 2, "银行转账")]
        assert old[0].voided_at is not None and "第2版" in old[0].void_reason
    draft = events(world, case_id)[-1]
    assert (draft.kind, draft.name, draft.data["version"], draft.data["superseded"],
            draft.data["voided_signatures"]) == ("agreement", "new_version", 2, 1, 2)
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "sign_agreement", "v1"))
    assert guard_reasons(exc)[0][1] == (
        "Not yet signed or sealed by: 张桂芳、李建国、调解员、调解委员会印章")


def test_the_last_signature_puts_the_agreement_in_force_and_it_cannot_change(
        world: World) -> None:
    case_id = world.case_in("grid_mediation")
    world.sign_all(case_id, "v1")
    with world.rt.db.session() as s:
        assert s.get(Case, case_id).agreement.effective_at is not None
    assert events(world, case_id)[-1].data["in_force"] is True
    exc = refused(world, case_id, Conflict,
                  lambda: save(world, case_id, **{**AGREEMENT, "facts": "改了"}))
    assert exc.detail.render("en") == "The agreement is in force and cannot change"
    refused(world, case_id, Conflict, lambda: sign(world, case_id, "mediator"))
    assert fire(world, case_id, "sign_agreement", "v1").case.state == "performing"


def test_a_new_agreement_is_needed_after_a_breach(world: World) -> None:
    case_id = world.case_in("performing")
    fire(world, case_id, "report_breach", "v1", {"reason": "未按期修复"})
    fire(world, case_id, "assign_center", "r1", {"mediator": "r1"})
    exc = refused(world, case_id, ValidationFailed,
                  lambda: fire(world, case_id, "sign_agreement", "r1"))
    assert guard_reasons(exc)[0][1] == "No written agreement and no registered oral agreement"
    save(world, case_id, "r1", **{**AGREEMENT, "performance_method": "现金，三日内"})
    for signer in [*party_ids(world, case_id), "mediator"]:
        sign(world, case_id, signer, "r1")
    sign(world, case_id, "committee", "r1", method="seal")
    assert fire(world, case_id, "sign_agreement", "r1").case.state == "performing"
    with world.rt.db.session() as s:
        agreements = s.scalars(select(Agreement).where(Agreement.case_id == case_id)
                               .order_by(Agreement.id)).all()
        # The breached agreement stays on file, voided with why; the new round's is in force.
        assert [(a.round, a.status, a.voided_at is not None, a.void_reason,
                 a.effective_at is not None) for a in agreements] == [
            (1, "voided", True, "未按期修复", True), (2, "in_force", False, "", True)]


def test_an_oral_agreement_of_an_earlier_round_does_not_count(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    act(world, case_id, "register_oral_agreement", "v1",
        {"content": "口头约定", "date": TODAY})
    fire(world, case_id, "sign_agreement", "v1")
    fire(world, case_id, "report_breach", "v1", {"reason": "未履行"})
    fire(world, case_id, "return_to_grid", "r1", {"instructions": "再调"})
    refused(world, case_id, ValidationFailed,
            lambda: fire(world, case_id, "sign_agreement", "r1"))


def test_the_agreement_is_closed_outside_its_states(world: World) -> None:
    case_id = world.new_case()
    exc = refused(world, case_id, Conflict, lambda: save(world, case_id, **AGREEMENT))
    assert exc.status == 409


def test_only_the_handler_or_a_supervisor_works_on_the_agreement(world: World) -> None:
    case_id = world.case_in("grid_mediation")  # handled by v1
    refused(world, case_id, Forbidden, lambda: save(world, case_id, "v1b", **AGREEMENT))
    save(world, case_id, "r1", **AGREEMENT)


# -- the trail ---------------------------------------------------------------------------

def _walked_case(w: World) -> int:
    case_id = w.case_in("grid_mediation")
    act(w, case_id, "add_note", "v1", {"text": "第一次上门"})
    act(w, case_id, "add_note", "v1", {"text": "第二次上门"})
    return case_id


def _tamper(w: World, case_id: int, seq: int, column: str, value: str) -> None:
    cast = "CAST(:v AS JSON)" if column == "data" and w.rt.db.engine.dialect.name == \
        "postgresql" else ":v"
    with w.rt.db.engine.begin() as conn:
        n = conn.execute(text(f"UPDATE events SET {column} = {cast} "
                              "WHERE case_id = :c AND seq = :s"),
                         {"v": value, "c": case_id, "s": seq}).rowcount
        assert n == 1


@pytest.mark.parametrize(("column", "value"), [
    ("data", '{"text": "第一次上门，当事人同意赔偿"}'),
    ("actor", "r1"),
    ("hash", "f" * 64),
    ("prev_hash", "0" * 64),
])
def test_tampering_with_an_event_names_its_seq(world: World, column: str, value: str) -> None:
    case_id = _walked_case(world)
    case_no = world.case(case_id).report_no
    n = len(events(world, case_id))
    with world.rt.db.session() as s:
        assert verify_case(s, case_id, case_no).valid
    tampered = n - 1  # the first note
    _tamper(world, case_id, tampered, column, value)
    with world.rt.db.session() as s:
        report = verify_case(s, case_id, case_no)
    assert (report.valid, report.broken_seq) == (False, tampered)


def test_a_deleted_event_breaks_the_chain_where_it_was(world: World) -> None:
    case_id = _walked_case(world)
    with world.rt.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE case_id = :c AND seq = 2"), {"c": case_id})
    with world.rt.db.session() as s:
        report = verify_case(s, case_id, world.case(case_id).report_no)
    assert (report.valid, report.broken_seq) == (False, 3)


def test_every_event_of_a_whole_road_chains(world: World) -> None:
    case_id = world.case_in("resolved")
    evs = events(world, case_id)
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(evs))
    assert world.case(case_id).version == len(evs)
    with world.rt.db.session() as s:
        assert verify_case(s, case_id, world.case(case_id).report_no).valid


# -- personal information ----------------------------------------------------------------

def test_phone_and_id_numbers_are_stored_encrypted(world: World) -> None:
    case_id = world.new_case()
    with world.rt.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT name, phone_enc, id_number_enc FROM parties "
                                 "WHERE case_id = :c ORDER BY position"), {"c": case_id}).all()
        trail = " ".join(str(r[0]) for r in conn.execute(
            text("SELECT data FROM events WHERE case_id = :c"), {"c": case_id}))
    assert [r[0] for r in rows] == [p["name"] for p in PARTIES]
    for (_, phone_enc, id_enc), party in zip(rows, PARTIES, strict=True):
        for plain in (party["phone"], party["id_number"]):
            assert plain not in phone_enc and plain not in id_enc
            assert plain[-8:] not in phone_enc + id_enc
            assert plain not in trail
        assert world.rt.cipher.decrypt(phone_enc) == party["phone"]
        assert world.rt.cipher.decrypt(id_enc) == party["id_number"]


# -- pinned definition versions ----------------------------------------------------------

@pytest.fixture
def changed_rt(world: World, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on the same database whose aunt_whistle.toml has changed since the world's
    cases started: only reviewers may record a withdrawal now."""
    folder = tmp_path / "workflows"
    shutil.copytree(data_dir("workflows"), folder)
    path = folder / "aunt_whistle.toml"
    source = path.read_text(encoding="utf-8")
    old = 'to = "withdrawn"\nroles = ["volunteer", "reviewer", "lawyer"]'
    assert old in source
    path.write_text(source.replace(old, 'to = "withdrawn"\nroles = ["reviewer"]'),
                    encoding="utf-8")
    runtime = Runtime(make_config(world.rt.config.database_url, tmp_path / "instance",
                                  workflows_dir=folder))
    yield runtime
    runtime.close()


def test_a_case_keeps_the_definition_version_it_started_on(world: World,
                                                            changed_rt: Runtime) -> None:
    old_case = world.new_case()
    old_version = world.case(old_case).definition_version
    new_version = changed_rt.store.current("aunt_whistle").version
    assert new_version != old_version
    with changed_rt.db.session() as s:
        new_case = create_case(s, changed_rt.engine, case_body(), actor=world.user(s, "v1"))[0]
        new_id = new_case.id
        assert new_case.definition_version == new_version
    for case_id, allowed in ((old_case, True), (new_id, False)):
        with changed_rt.db.session() as s:
            def withdraw(s: Any = s, case_id: int = case_id) -> Any:
                return changed_rt.engine.fire(s, case_id, "withdraw", actor=world.user(s, "v1"),
                                              data={"statement": "撤回"})
            if allowed:  # the old text still rules the old case
                assert withdraw().case.state == "withdrawn"
            else:
                with pytest.raises(Forbidden):
                    withdraw()


def test_one_machine_per_definition_version(world: World) -> None:
    store = world.rt.store
    definition = store.current("aunt_whistle")
    assert store.machine(definition) is store.machine(definition)
    with world.rt.db.session() as s:
        case = s.get(Case, world.new_case())
        assert world.rt.engine.definition(s, case) is definition


# -- the consultation desk ---------------------------------------------------------------

def test_a_lawyer_at_the_consultation_desk_can_answer(world: World) -> None:
    consultation_id = world.new_case("v2", workflow="consultation", grid="G2")
    outcome = fire(world, consultation_id, "answer", "l1", {"answer": "可申请人民调解"})
    assert outcome.case.state == "answered"


def test_an_answered_consultation_closes_itself_after_thirty_days(world: World) -> None:
    from datetime import timedelta

    from mediation.timeutil import utcnow

    consultation_id = world.new_case("v2", workflow="consultation", grid="G2",
                                     category="邻里", source="consultation")
    fire(world, consultation_id, "answer", "l1", {"answer": "可申请人民调解"})
    assert world.rt.engine.sweep(world.rt.db, utcnow() + timedelta(days=29)).fired == 0
    report = world.rt.engine.sweep(world.rt.db, utcnow() + timedelta(days=31))
    assert report.by_kind == {"fire": 1}
    case = world.case(consultation_id)
    assert case.state == "closed" and case.closed_at is not None
