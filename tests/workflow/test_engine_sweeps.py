"""Deadlines (DESIGN.md §2–3): set on entering a state, cancelled on leaving it, fired by a sweep
exactly once however often or concurrently sweeps run.

Every due time below is computed from the definition file, not written down again.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mediation.auth.operations import find_user
from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.resources import data_dir
from mediation.runtime import Runtime
from mediation.workflow.audit import verify_case
from mediation.workflow.definition import DeadlineDef, Definition, load_file
from mediation.workflow.engine import SweepReport
from mediation.workflow.models import Deadline, Event
from tests.conftest import make_config
from tests.factories import AGREEMENT, TODAY, World, case_body

DEFINITION: Definition = load_file(data_dir("workflows") / "aunt_whistle.toml")
T0 = datetime(2026, 3, 2, 1, 0)  # naive UTC, as the engine keeps time
SECOND = timedelta(seconds=1)
# China Standard Time: a performance date ends at 23:59:59 there (mediation.cases.numbering).
CST = timedelta(hours=8)


def deadlines_of(state: str, kind: str | None = None) -> list[DeadlineDef]:
    return [d for d in DEFINITION.state(state).deadlines if kind is None or d.kind == kind]


def the_deadline(state: str, kind: str) -> DeadlineDef:
    (found,) = deadlines_of(state, kind)
    return found


# -- a world per module; case tables emptied before each test ----------------------------

# -- driving cases at chosen times ------------------------------------------------------

def new_case(w: World, now: datetime, username: str = "v1", **extra: Any) -> int:
    with w.rt.db.session() as s:
        case, _ = create_case(s, w.rt.engine, case_body(**extra), actor=w.user(s, username),
                              now=now)
        return case.id


def walk(w: World, state: str, now: datetime) -> int:
    """A new case walked to ``state`` along the factories' road, every step at ``now``."""
    case_id = new_case(w, now)
    for trigger, who, data in World.PATHS[state]:
        if trigger == "@sign":
            sign_all(w, case_id, now)
        elif trigger == "@follow_up":
            act(w, case_id, "record_follow_up", "v1", now,
                {"date": TODAY, "method": "上门", "result": "performed"})
        else:
            w.fire(case_id, trigger, who, data, now=now)
    assert w.case(case_id).state == state
    return case_id


def act(w: World, case_id: int, action: str, who: str, now: datetime, data: dict) -> None:
    with w.rt.db.session() as s:
        w.rt.engine.act(s, case_id, action, actor=w.user(s, who), data=data, now=now)


def sign_all(w: World, case_id: int, now: datetime, **agreement: Any) -> None:
    with w.rt.db.session() as s:
        actor = w.user(s, "v1")
        # performed by the day it is signed: the follow-up visit is due a week later
        save_agreement(s, w.rt.engine, case_id, {
            **AGREEMENT, "performance_deadline": (now + CST).date(), **agreement},
            actor=actor, now=now)
        case = s.get(Case, case_id)
        for signer in [*(str(p.id) for p in case.parties), "mediator"]:
            add_signature(s, w.rt.engine, case_id, signer=signer, method="signature",
                          signed_at=now, actor=actor, now=now)
        add_signature(s, w.rt.engine, case_id, signer="committee", method="seal",
                      signed_at=now, actor=actor, now=now)


def sweep(w: World, now: datetime) -> SweepReport:
    return w.rt.engine.sweep(w.rt.db, now)


def system_events(w: World, case_id: int) -> list[tuple[str, str, str | None]]:
    """(kind, name, to_state) of what the system did on its own to a case."""
    with w.rt.db.session() as s:
        return [(e.kind, e.name, e.to_state) for e in s.scalars(
            select(Event).where(Event.case_id == case_id, Event.actor == "system")
            .order_by(Event.seq))]


def pending(w: World, case_id: int) -> list[Deadline]:
    with w.rt.db.session() as s:
        return list(s.scalars(select(Deadline).where(
            Deadline.case_id == case_id, Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at)))


# -- reported: remind after 24 h, escalate after 72 h -------------------------------------

def test_reported_reminds_then_escalates_at_the_times_the_definition_gives(world: World) -> None:
    remind, fire = the_deadline("reported", "remind"), the_deadline("reported", "fire")
    assert (remind.after, fire.after) == (timedelta(hours=24), timedelta(hours=72))  # §2
    case_id = new_case(world, T0)
    assert [(d.kind, d.due_at) for d in pending(world, case_id)] == [
        ("remind", T0 + remind.after), ("fire", T0 + fire.after)]
    assert world.case(case_id).due_at == T0 + remind.after

    assert sweep(world, T0 + remind.after - SECOND).fired == 0
    assert system_events(world, case_id) == []

    report = sweep(world, T0 + remind.after)
    assert (report.fired, report.by_kind) == (1, {"remind": 1})
    case = world.case(case_id)
    assert (case.state, case.due_at) == ("reported", T0 + fire.after)
    with world.rt.db.session() as s:
        ev = s.scalars(select(Event).where(Event.case_id == case_id)
                       .order_by(Event.seq.desc())).first()
        assert (ev.kind, ev.actor, ev.from_state, ev.to_state) == (
            "remind", "system", "reported", "reported")
        assert ev.data["reason"] == remind.reason.zh and ev.data["reason_en"] == remind.reason.en

    assert sweep(world, T0 + fire.after - SECOND).fired == 0
    report = sweep(world, T0 + fire.after)
    assert (report.fired, report.by_kind) == (1, {"fire": 1})
    case = world.case(case_id)
    assert case.state == DEFINITION.transitions[fire.fire].dest == "escalated"
    assert case.assignee_id is None
    with world.rt.db.session() as s:
        ev = s.scalars(select(Event).where(Event.case_id == case_id)
                       .order_by(Event.seq.desc())).first()
        assert (ev.kind, ev.name, ev.actor, ev.from_state, ev.to_state) == (
            "transition", fire.fire, "system", "reported", "escalated")
        assert ev.data["reason"] == fire.reason.zh
        assert verify_case(s, case_id, case.report_no).valid
    assert system_events(world, case_id) == [("remind", "deadline", "reported"),
                                             ("transition", "escalate", "escalated")]


def test_a_late_sweep_fires_both_reported_deadlines_in_due_order(world: World) -> None:
    case_id = new_case(world, T0)
    report = sweep(world, T0 + timedelta(days=10))
    assert (report.due, report.fired, report.by_kind) == (2, 2, {"remind": 1, "fire": 1})
    assert system_events(world, case_id) == [("remind", "deadline", "reported"),
                                             ("transition", "escalate", "escalated")]


# -- grid mediation: escalate after 15 days ------------------------------------------------

def test_grid_mediation_is_escalated_by_the_system_after_15_days(world: World) -> None:
    fire = the_deadline("grid_mediation", "fire")
    assert fire.after == timedelta(days=15)
    case_id = walk(world, "grid_mediation", T0)
    assert world.case(case_id).assignee.username == "v1"
    assert [(d.kind, d.due_at) for d in pending(world, case_id)] == [("fire", T0 + fire.after)]

    assert sweep(world, T0 + fire.after - SECOND).fired == 0
    assert world.case(case_id).state == "grid_mediation"
    assert sweep(world, T0 + fire.after).by_kind == {"fire": 1}
    case = world.case(case_id)
    assert (case.state, case.assignee_id) == ("escalated", None)  # escalate clears the handler
    assert system_events(world, case_id) == [("transition", "escalate", "escalated")]


# -- overdue flags: an alert, no move ------------------------------------------------------

OVERDUE_STATES = [s for s in DEFINITION.states if deadlines_of(s, "overdue")]


def test_the_definition_has_the_overdue_deadlines_of_the_design() -> None:
    assert {s: the_deadline(s, "overdue").after for s in OVERDUE_STATES} == {
        "escalated": timedelta(days=3), "center_mediation": timedelta(days=30),
        "legal_service": timedelta(days=30)}


@pytest.mark.parametrize("state", OVERDUE_STATES)
def test_overdue_flags_the_case_without_moving_it(world: World, state: str) -> None:
    overdue = the_deadline(state, "overdue")
    case_id = walk(world, state, T0)
    assert world.case(case_id).due_at == T0 + overdue.after
    assert sweep(world, T0 + overdue.after - SECOND).fired == 0
    assert world.case(case_id).overdue_at is None

    assert sweep(world, T0 + overdue.after).by_kind == {"overdue": 1}
    case = world.case(case_id)
    assert (case.state, case.overdue_at, case.due_at) == (state, T0 + overdue.after, None)
    assert system_events(world, case_id) == [("overdue", "deadline", state)]
    assert sweep(world, T0 + overdue.after + timedelta(days=90)).fired == 0


def test_leaving_an_overdue_state_clears_the_flag(world: World) -> None:
    case_id = walk(world, "escalated", T0)
    sweep(world, T0 + timedelta(days=4))
    assert world.case(case_id).overdue_at is not None
    world.fire(case_id, "assign_center", "r1", {"mediator": "r1"}, now=T0 + timedelta(days=5))
    case = world.case(case_id)
    assert (case.state, case.overdue_at) == ("center_mediation", None)
    assert case.due_at == T0 + timedelta(days=5) + the_deadline("center_mediation",
                                                                 "overdue").after


# -- performing: the follow-up visit counts from the last performance date ----------------

def test_follow_up_is_due_7_days_after_the_last_performance_date(world: World) -> None:
    remind = the_deadline("performing", "remind")
    assert (remind.after, remind.anchor) == (timedelta(days=7), "last_performance_date")
    case_id = walk(world, "grid_mediation", T0)
    terms = [{**AGREEMENT["terms"][0], "due_date": date(2026, 3, 20)},
             {**AGREEMENT["terms"][1], "due_date": date(2026, 3, 10)}]
    sign_all(world, case_id, T0, terms=terms, performance_deadline=date(2026, 3, 25))
    world.fire(case_id, "sign_agreement", "v1", now=T0)
    # The end of 25 March in China, in UTC, plus seven days.
    due = datetime.combine(date(2026, 3, 25), time(23, 59, 59)) - CST + remind.after
    assert due == datetime(2026, 4, 1, 15, 59, 59)
    assert [(d.kind, d.due_at) for d in pending(world, case_id)] == [("remind", due)]

    assert sweep(world, due - SECOND).fired == 0
    assert sweep(world, due).by_kind == {"remind": 1}
    assert world.case(case_id).state == "performing"
    assert system_events(world, case_id) == [("remind", "deadline", "performing")]
    with world.rt.db.session() as s:
        ev = s.scalars(select(Event).where(Event.case_id == case_id)
                       .order_by(Event.seq.desc())).first()
        assert ev.data["reason"] == remind.reason.zh


def test_follow_up_without_performance_dates_counts_from_the_agreement_taking_effect(
        world: World) -> None:
    case_id = walk(world, "grid_mediation", T0)
    world.act(case_id, "register_oral_agreement", "v1", {"content": "口头约定赔偿", "date": TODAY})
    world.fire(case_id, "sign_agreement", "v1", now=T0 + timedelta(hours=2))
    remind = the_deadline("performing", "remind")
    assert [d.due_at for d in pending(world, case_id)] == [T0 + timedelta(hours=2) + remind.after]


# -- each deadline once -------------------------------------------------------------------

def _all_kinds(world: World) -> list[int]:
    """Cases with every kind of deadline due by T0 + 40 days."""
    return [new_case(world, T0), walk(world, "grid_mediation", T0), walk(world, "escalated", T0),
            walk(world, "center_mediation", T0), walk(world, "legal_service", T0),
            walk(world, "performing", T0)]


def _fired(world: World) -> dict[int, int]:
    """Per deadline id, how many events name it (an event records the deadline it fired)."""
    with world.rt.db.session() as s:
        counts: dict[int, int] = {}
        for data in s.scalars(select(Event.data).where(Event.actor == "system")):
            deadline = data.get("deadline")
            key = deadline["id"] if isinstance(deadline, dict) else deadline
            counts[key] = counts.get(key, 0) + 1
        return counts


def test_a_second_sweep_at_the_same_time_fires_nothing(world: World) -> None:
    cases = _all_kinds(world)
    now = T0 + timedelta(days=40)
    first = sweep(world, now)
    # reported: remind + escalate; grid: escalate; escalated, centre, legal: overdue;
    # performing: follow-up reminder.
    assert first.fired == 7, first
    assert first.by_kind == {"remind": 2, "fire": 2, "overdue": 3}
    second = sweep(world, now)
    assert (second.due, second.fired) == (0, 0)
    fired = _fired(world)
    assert sorted(fired.values()) == [1] * 7
    with world.rt.db.session() as s:
        rows = s.scalars(select(Deadline).where(Deadline.fired_at.is_not(None))).all()
        assert sorted(d.id for d in rows) == sorted(fired)
        for case_id in cases:
            case = s.get(Case, case_id)
            assert verify_case(s, case_id, case.report_no).valid


@pytest.mark.parametrize("sweepers", [4])
def test_concurrent_sweeps_fire_each_deadline_exactly_once(world: World, sweepers: int) -> None:
    cases = _all_kinds(world) + [new_case(world, T0) for _ in range(4)]
    now = T0 + timedelta(days=40)
    barrier = threading.Barrier(sweepers)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(world.rt.engine.sweep(world.rt.db, now))
        except BaseException as exc:  # reported below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(sweepers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(reports) == sweepers
    assert sum(r.errors for r in reports) == 0
    fired = _fired(world)
    assert sorted(fired.values()) == [1] * 15  # 7 as above, plus 2 for each extra report
    assert sum(r.fired for r in reports) == 15
    assert sweep(world, now).fired == 0
    with world.rt.db.session() as s:
        assert s.scalar(select(Event.seq).where(Event.name == "deadline_not_fired")) is None
        for case_id in cases:
            case = s.get(Case, case_id)
            assert verify_case(s, case_id, case.report_no).valid
            assert case.version == len(s.scalars(select(Event.seq).where(
                Event.case_id == case_id)).all())


# -- deadlines made by a sweep wait for a later one ------------------------------------------

RELAY = """
name = "relay"
label = "接力"
initial = "first"
number_series = "接"
supervisor_role = "reviewer"

[states.first]
label = "第一棒"
deadlines = [{ kind = "fire", after = "1h", fire = "pass_on", reason = "一小时后交棒" }]

[states.second]
label = "第二棒"
deadlines = [{ kind = "fire", after = "1m", fire = "finish", reason = "一分钟后完成" }]

[states.done]
label = "完成"
terminal = true

[fields]
reason = { type = "text", label = "理由" }

[transitions.pass_on]
label = "交棒"
from = ["first"]
to = "second"
roles = ["volunteer"]
requires = ["reason"]

[transitions.finish]
label = "完成"
from = ["second"]
to = "done"
roles = ["volunteer"]
requires = ["reason"]
"""


@pytest.fixture
def relay_rt(world: World, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on the same database whose workflows/ also holds ``relay``: a deadline
    that leads to a state whose own deadline is already due when a late sweep enters it."""
    folder = tmp_path / "workflows"
    shutil.copytree(data_dir("workflows"), folder)
    (folder / "relay.toml").write_text(RELAY, encoding="utf-8")
    runtime = Runtime(make_config(world.rt.config.database_url, tmp_path / "instance",
                                  workflows_dir=folder))
    yield runtime
    runtime.close()


def test_deadlines_created_by_a_sweep_wait_for_a_later_sweep(world: World,
                                                             relay_rt: Runtime) -> None:
    with relay_rt.db.session() as s:
        case_id = relay_rt.engine.start_case(
            s, workflow="relay", grid_code="G1", category="邻里", risk_level="low",
            title="接力", actor=find_user(s, "v1"), now=T0).case.id
    late = T0 + timedelta(days=1)  # both deadlines would be due by now
    report = relay_rt.engine.sweep(relay_rt.db, late)
    assert (report.due, report.fired) == (1, 1)
    with relay_rt.db.session() as s:
        case = s.get(Case, case_id)
        assert case.state == "second"
        (waiting,) = s.scalars(select(Deadline).where(Deadline.case_id == case_id,
                                                      Deadline.fired_at.is_(None))).all()
        # It counts from the sweep that made it: due one minute after ``late``.
        assert (waiting.state, waiting.due_at) == ("second", late + timedelta(minutes=1))
    assert relay_rt.engine.sweep(relay_rt.db, late + timedelta(minutes=1)).fired == 1
    with relay_rt.db.session() as s:
        case = s.get(Case, case_id)
        assert case.state == "done"
        assert [e.name for e in s.scalars(select(Event).where(
            Event.case_id == case_id, Event.kind == "transition").order_by(Event.seq))] == [
            "pass_on", "finish"]


# -- leaving a state cancels its deadlines ------------------------------------------------

def test_leaving_a_state_cancels_its_deadlines(world: World) -> None:
    case_id = new_case(world, T0)
    accepted = T0 + timedelta(hours=1)
    world.fire(case_id, "accept", "v1", now=accepted)
    with world.rt.db.session() as s:
        rows = s.scalars(select(Deadline).where(Deadline.case_id == case_id)
                         .order_by(Deadline.id)).all()
        assert [(d.state, d.kind, d.cancelled_at, d.fired_at) for d in rows] == [
            ("reported", "remind", accepted, None), ("reported", "fire", accepted, None),
            ("grid_mediation", "fire", None, None)]
    grid = the_deadline("grid_mediation", "fire")
    assert world.case(case_id).due_at == accepted + grid.after

    report = sweep(world, T0 + timedelta(days=5))  # past both reported deadlines
    assert report.fired == 0
    assert world.case(case_id).state == "grid_mediation"
    assert system_events(world, case_id) == []


def test_a_terminal_state_leaves_no_deadline_pending(world: World) -> None:
    case_id = new_case(world, T0)
    world.fire(case_id, "reject", "v1", {"reason": "已起诉至法院"}, now=T0)
    assert pending(world, case_id) == []
    assert world.case(case_id).due_at is None
    assert sweep(world, T0 + timedelta(days=400)).fired == 0
