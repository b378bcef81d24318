"""Races (DESIGN.md §3): transitions on one case from many threads, each with its own session
and connection, serialise on the case's row lock (PostgreSQL) or the write lock (SQLite):
exactly one wins, the others get 409 and nothing of theirs is written. Case numbers stay
gapless and unique under concurrent creation (§4).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.cases.models import Case
from mediation.cases.numbering import local_year
from mediation.cases.operations import create_case
from mediation.errors import Conflict, MediationError
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow.audit import verify_case
from mediation.workflow.models import DefinitionVersion, Event
from tests.conftest import make_config
from tests.factories import World, case_body
from tests.workflow.conftest import clear_cases

THREADS = 8

# -- a world per module; case tables emptied before each test ----------------------------

# -- racing ------------------------------------------------------------------------------

def race(w: World, jobs: list[Callable[[Session], Any]]) -> list[Any]:
    """Run each job in its own thread and session, all released at once; return what each
    returned or raised (in job order)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with w.rt.db.session() as s:
                results[i] = jobs[i](s)
        except BaseException as exc:  # returned to the test, never lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def fire_job(w: World, case_id: int, trigger: str, username: str | None,
             data: dict[str, Any] | None = None, expected_version: int | None = None,
             now: datetime | None = None) -> Callable[[Session], Any]:
    def job(s: Session) -> Any:
        actor = w.user(s, username) if username else None
        return w.rt.engine.fire(s, case_id, trigger, actor=actor, data=data or {},
                                expected_version=expected_version, now=now).case.state
    return job


def events_of(w: World, case_id: int) -> list[Event]:
    with w.rt.db.session() as s:
        return list(s.scalars(select(Event).where(Event.case_id == case_id)
                              .order_by(Event.seq)))


def assert_one_winner(w: World, case_id: int, results: list[Any], before: list[Event],
                      winner_state: str) -> int:
    """Exactly one job won, every other one got 409, and one event was appended."""
    won = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert results[won[0]] == winner_state
    assert all(isinstance(r, Conflict) and r.status == 409 for r in lost), lost
    after = events_of(w, case_id)
    assert len(after) == len(before) + 1
    assert after[-1].kind == "transition"
    with w.rt.db.session() as s:
        case = s.get(Case, case_id)
        assert (case.state, case.version) == (winner_state, len(after))
        assert verify_case(s, case_id, case.report_no).valid
    return won[0]


ACCEPTORS = ["v1", "v1b", "r1", "v1", "v1b", "r1", "v1", "v1b"]


def test_racing_accepts_with_the_same_expected_version(world: World) -> None:
    case_id = world.new_case()
    version = world.case(case_id).version
    before = events_of(world, case_id)
    results = race(world, [fire_job(world, case_id, "accept", ACCEPTORS[i],
                                    expected_version=version) for i in range(THREADS)])
    winner = assert_one_winner(world, case_id, results, before, "grid_mediation")
    # The winner is the handler (accept assigns the actor) and the event says so.
    case = world.case(case_id)
    assert case.assignee.username == ACCEPTORS[winner]
    assert events_of(world, case_id)[-1].actor == ACCEPTORS[winner]
    # The losers were told the case moved on, with its current version.
    for r in results:
        if isinstance(r, Conflict):
            assert r.extra.get("current_version") == version + 1


def test_racing_closing_triggers_without_expected_version(world: World) -> None:
    """Without a version the state decides: the first to close the case wins, the rest find
    it closed (wrong state, 409)."""
    case_id = world.new_case()
    before = events_of(world, case_id)
    jobs = []
    for i in range(THREADS):
        if i % 2:
            jobs.append(fire_job(world, case_id, "withdraw", ["v1", "r1", "v1b", "r1"][i // 2],
                                 {"statement": f"撤回{i}"}))
        else:
            jobs.append(fire_job(world, case_id, "reject", ["v1", "v1b", "r1", "v1"][i // 2],
                                 {"reason": f"理由{i}"}))
    results = race(world, jobs)
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1 and won[0] in ("withdrawn", "rejected")
    assert_one_winner(world, case_id, results, before, won[0])


def test_racing_different_moves_with_the_same_expected_version(world: World) -> None:
    case_id = walk_to_escalated(world)
    version = world.case(case_id).version
    before = events_of(world, case_id)
    moves = [("assign_center", {"mediator": "r1"}), ("return_to_grid", {"instructions": "退回"}),
             ("refer_legal", {"lawyer": "l1"}), ("reject", {"reason": "不属调解范围"})]
    jobs = []
    for i in range(THREADS):
        trigger, data = moves[i % len(moves)]
        jobs.append(fire_job(world, case_id, trigger, "r1", data, expected_version=version))
    results = race(world, jobs)
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert_one_winner(world, case_id, results, before, won[0])


def walk_to_escalated(w: World) -> int:
    case_id = w.new_case()
    w.fire(case_id, "escalate", "v1", {"reason": "分歧大"})
    return case_id


def test_a_sweep_racing_a_person_moves_the_case_once(world: World) -> None:
    """The 72-hour auto-escalation and a volunteer's accept at the same moment: one of them
    moves the case, the other finds it moved (409) or its deadline cancelled."""
    t0 = utcnow() - timedelta(days=4)
    with world.rt.db.session() as s:
        case_id = create_case(s, world.rt.engine, case_body(), actor=world.user(s, "v1"),
                              now=t0)[0].id
    now = utcnow()
    before = events_of(world, case_id)
    results = race(world, [
        lambda s: world.rt.engine.sweep(world.rt.db, now),
        fire_job(world, case_id, "accept", "v1", now=now),
    ])
    assert not isinstance(results[0], BaseException), results[0]
    transitions = [e for e in events_of(world, case_id)[len(before):] if e.kind == "transition"]
    assert len(transitions) == 1
    state = world.case(case_id).state
    if state == "grid_mediation":  # the volunteer was first: the deadline was cancelled
        assert transitions[0].actor == "v1"
        assert results[0].by_kind.get("fire", 0) == 0
    else:
        assert state == "escalated" and transitions[0].actor == "system"
        assert isinstance(results[1], Conflict)
    with world.rt.db.session() as s:
        assert verify_case(s, case_id, s.get(Case, case_id).report_no).valid


# -- numbering ---------------------------------------------------------------------------

NUMBER = re.compile(r"^（(?P<year>\d{4})）(?P<committee>.+)人调字第(?P<n>\d{4})号$")
REPORT = re.compile(r"^(?P<committee>.+)-报(?P<year>\d{4})-(?P<n>\d{4})$")


def _create_many(w: World, per_thread: int, grids: list[str]) -> list[Any]:
    def job(i: int) -> Callable[[Session], Any]:
        def create(_: Session) -> list[str]:
            numbers = []
            for k in range(per_thread):
                grid = grids[(i + k) % len(grids)]
                user = {"G1": "v1", "G2": "v2", "G3": "v3"}[grid]
                with w.rt.db.session() as s:
                    case, _ = create_case(s, w.rt.engine, case_body(grid=grid, title=f"并发{i}-{k}"),
                                          actor=w.user(s, user))
                    numbers.append(case.report_no)
            return numbers
        return create
    return race(w, [job(i) for i in range(THREADS)])


def _check_gapless(w: World, expected: dict[str, int], column: str = "report_no") -> None:
    """The numbers in ``column`` run 1..n per committee, for this year (China time)."""
    pattern = REPORT if column == "report_no" else NUMBER
    with w.rt.db.session() as s:
        numbers = [n for n in s.scalars(select(getattr(Case, column))).all() if n is not None]
    year = local_year(utcnow())
    by_committee: dict[str, list[int]] = {}
    for number in numbers:
        match = pattern.match(number)
        assert match, number
        assert int(match["year"]) == year
        by_committee.setdefault(match["committee"], []).append(int(match["n"]))
    assert {k: sorted(v) for k, v in by_committee.items()} == {
        k: list(range(1, n + 1)) for k, n in expected.items()}


def test_concurrent_creation_in_one_committee_numbers_gapless_and_unique(world: World) -> None:
    world.new_case()  # the definition version is pinned already; see the next test for not
    results = _create_many(world, per_thread=3, grids=["G1", "G2"])
    assert not [r for r in results if isinstance(r, BaseException)], results
    _check_gapless(world, {"红石板": 1 + THREADS * 3})
    with world.rt.db.session() as s:
        first = s.scalar(select(func.min(Case.report_no)))
        assert s.scalars(select(Case.case_no)).all() == [None] * (1 + THREADS * 3)
    assert first == f"红石板-报{local_year(utcnow())}-0001"


def test_concurrent_acceptances_number_gapless_and_unrejected_reports_take_none(
        world: World) -> None:
    """Case numbers are given on acceptance: accepted at once by several mediators they run
    1..n without a gap, and the reports rejected or withdrawn before acceptance take none."""
    reports = [world.new_case() for _ in range(THREADS)]
    dropped = [world.new_case(), world.new_case()]
    world.fire(dropped[0], "reject", "v1", {"reason": "已起诉"})
    world.fire(dropped[1], "withdraw", "v1", {"statement": "不调了"})

    def job(case_id: int, who: str) -> Callable[[Session], Any]:
        def accept(s: Session) -> str | None:
            return world.rt.engine.fire(s, case_id, "accept", actor=world.user(s, who)).case.case_no
        return accept

    results = race(world, [job(c, ("v1", "v1b")[i % 2]) for i, c in enumerate(reports)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    _check_gapless(world, {"红石板": THREADS}, column="case_no")
    with world.rt.db.session() as s:
        for case_id in dropped:
            assert s.get(Case, case_id).case_no is None
        for case_id in reports:
            case = s.get(Case, case_id)
            assert case.accepted_at is not None
            assert case.case_no in {e.data.get("case_no") for e in s.scalars(
                select(Event).where(Event.case_id == case_id))}


def test_concurrent_creation_in_two_committees_numbers_each_from_one(world: World) -> None:
    world.new_case()
    results = _create_many(world, per_thread=2, grids=["G1", "G3"])
    assert not [r for r in results if isinstance(r, BaseException)], results
    _check_gapless(world, {"红石板": 1 + THREADS, "胭脂新村": THREADS})


def test_first_cases_ever_created_concurrently(world: World,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """On a fresh database no definition version is pinned yet: every first creation tries
    to store it at once (DefinitionStore.pin), and none may fail. A new runtime, so that no
    store remembers having pinned it."""
    clear_cases(world.rt, keep={"org_units", "users"})
    fresh = Runtime(make_config(world.rt.config.database_url, tmp_path_factory.mktemp("i")))
    try:
        results = _create_many(World(fresh), per_thread=1, grids=["G1"])
    finally:
        fresh.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:1]
    _check_gapless(world, {"红石板": THREADS})
    with world.rt.db.session() as s:
        assert s.scalars(select(DefinitionVersion.name)).all() == ["aunt_whistle"]


def test_a_failed_creation_gives_its_number_back(world: World) -> None:
    world.new_case()
    with pytest.raises(MediationError), world.rt.db.session() as s:
        create_case(s, world.rt.engine, case_body(title="作废"), actor=world.user(s, "v1"))
        raise Conflict()  # the unit of work fails after the number was taken
    world.new_case()
    _check_gapless(world, {"红石板": 2})
    with world.rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 2
