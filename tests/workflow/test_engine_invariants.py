"""A Hypothesis state machine: random triggers and actions by random users (and the system),
agreements signed, new reports (high-risk ones too), consultations converted, and sweeps with
time moving on, on a few cases of both definitions. After every step, for every case:

- its state is a state of its definition;
- its chain verifies (DESIGN.md §5);
- a terminal state absorbs: once there, the case never leaves, and no trigger fires from it;
- its state is the replay of its events: the initial state, then each transition's
  ``to_state``, each transition starting where the previous one ended;
- its version is the number of its events (the engine counts every event once).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from mediation.cases import permissions
from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.errors import Conflict, MediationError
from mediation.resources import data_dir
from mediation.timeutil import utcnow
from mediation.workflow.audit import verify_events
from mediation.workflow.definition import Definition, FieldDef, load_file
from mediation.workflow.models import Event
from tests.factories import AGREEMENT, TODAY, USERS, World, case_body
from tests.workflow.conftest import clear_cases

DEFINITIONS: dict[str, Definition] = {
    p.stem: load_file(p) for p in sorted(data_dir("workflows").glob("*.toml"))}
TRIGGERS = sorted({t for d in DEFINITIONS.values() for t in d.transitions})
ACTIONS = sorted({a for d in DEFINITIONS.values() for a in d.actions})
USERNAMES = [u[0] for u in USERS]
# Who reports in each grid, and the reviewer who supervises it.
REPORTER = {"G1": "v1", "G2": "v2", "G3": "v3"}
REVIEWER = {"G1": "r1", "G2": "r1", "G3": "r2"}
MAX_CASES = 6
# Data sent with a trigger or action: mostly valid, sometimes missing or junk.
KINDS = ["valid", "valid", "valid", "empty", "junk"]

# -- a world per module ------------------------------------------------------------------

# -- data --------------------------------------------------------------------------------

def field_value(fd: FieldDef, grid: str, draw: Any) -> Any:
    """A value of ``fd``'s type; user fields name someone who serves the case's grid."""
    if fd.type == "user":
        candidates = {"reviewer": [REVIEWER[grid]], "lawyer": ["l1"]}.get(
            fd.role or "", [REPORTER[grid], REVIEWER[grid], "l1"])
        return draw(st.sampled_from(candidates))
    return {
        "text": "随机测试内容",
        "confirm": True,
        "date": TODAY,
        "choice": draw(st.sampled_from(fd.choices)) if fd.choices else None,
        "names": ["张桂芳"],
        "file": "现场照片.jpg",
    }[fd.type]


def build_data(definition: Definition, names: tuple[str, ...], grid: str, kind: str,
               draw: Any) -> dict[str, Any]:
    """Valid data for ``names`` (kind ``valid``), nothing (``empty``) or junk (``junk``)."""
    if kind == "empty":
        return {}
    data = {n: field_value(definition.fields[n], grid, draw) for n in names
            if n in definition.fields}
    if kind == "junk":
        data = {**{k: 12345 for k in data}, "no_such_field": "x"}
    return data


# -- the machine -------------------------------------------------------------------------

class CaseMachine(RuleBasedStateMachine):
    """Cases driven at random; ``world`` is set on a subclass per test."""

    world: World

    def __init__(self) -> None:
        super().__init__()
        self.rt = self.world.rt
        clear_cases(self.rt)
        self.now = utcnow()
        self.closed: dict[int, str] = {}
        self.checked_absorbing: set[int] = set()
        self.cases: list[int] = []
        for grid, workflow in (("G1", "aunt_whistle"), ("G2", "consultation")):
            self._report(grid, workflow, "medium")

    # helpers

    def _report(self, grid: str, workflow: str, risk: str) -> None:
        with self.rt.db.session() as s:
            case, _ = create_case(s, self.rt.engine, case_body(
                grid=grid, workflow=workflow, risk_level=risk),
                actor=self.world.user(s, REPORTER[grid]), now=self.now)
            self.cases.append(case.id)

    def _case(self, s: Any, index: int) -> Case:
        return s.get(Case, self.cases[index % len(self.cases)])

    def _refresh_cases(self) -> None:
        with self.rt.db.session() as s:
            self.cases = list(s.scalars(select(Case.id).order_by(Case.id)))

    def _tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    # rules

    def _who(self, case: Case, draw: Any, *, system: bool = False) -> str | None:
        """Mostly someone with a say in the case (its handler, the grid's volunteer and
        reviewer, the district's lawyer), sometimes anyone (or the system)."""
        grid = case.grid.code
        likely = [REPORTER[grid], REVIEWER[grid], "l1"]
        if case.assignee is not None:
            likely += [case.assignee.username] * 2
        anyone: list[str | None] = [*USERNAMES, *([None] if system else [])]
        return draw(st.sampled_from(likely) if draw(st.integers(0, 3)) else
                    st.sampled_from(anyone))

    @rule(index=st.integers(0, MAX_CASES), kind=st.sampled_from(KINDS),
          stale=st.sampled_from([False] * 5 + [True]),
          data=st.data())
    def fire(self, index: int, kind: str, stale: bool, data: Any) -> None:
        """A trigger that may fire from the case's state (mostly) or any trigger."""
        self._tick(7)
        try:
            with self.rt.db.session() as s:
                case = self._case(s, index)
                definition = self.rt.engine.definition(s, case)
                possible = [t.trigger for t in definition.transitions_from(case.state)]
                trigger = data.draw(st.sampled_from(possible) if possible and data.draw(
                    st.integers(0, 4)) else st.sampled_from(TRIGGERS))
                tdef = definition.transitions.get(trigger)
                payload = build_data(definition, tdef.requires if tdef else ("reason",),
                                     case.grid.code, kind, data.draw)
                who = self._who(case, data.draw, system=True)
                actor = self.world.user(s, who) if who else None
                self.rt.engine.fire(s, case.id, trigger, actor=actor, data=payload,
                                    expected_version=case.version - 1 if stale else case.version,
                                    now=self.now)
            event(f"fired {trigger}")
        except MediationError as exc:
            event(f"refused {type(exc).__name__}")
        self._refresh_cases()  # a converted consultation opens a case

    # Rules are drawn evenly: two of them advance, so that cases get deep into the road.
    @rule(index=st.integers(0, MAX_CASES), prepare=st.booleans(), data=st.data())
    def advance(self, index: int, prepare: bool, data: Any) -> None:
        self._advance(index, prepare, data)

    @rule(index=st.integers(0, MAX_CASES), data=st.data())
    def advance_prepared(self, index: int, data: Any) -> None:
        self._advance(index, True, data)

    def _advance(self, index: int, prepare: bool, data: Any) -> None:
        """A move the engine offers to someone with a say in the case, with valid data and,
        if ``prepare``, what its guards need."""
        self._tick(11)
        with self.rt.db.session() as s:
            open_cases = [c for c in map(s.get, [Case] * len(self.cases), self.cases)
                          if c.closed_at is None]
            if not open_cases:
                return
            case = open_cases[index % len(open_cases)]
            case_id, grid = case.id, case.grid.code
            definition = self.rt.engine.definition(s, case)
            names = {REPORTER[grid], REVIEWER[grid], "l1", "v1b"}
            if case.assignee is not None:
                names.add(case.assignee.username)
            moves = sorted(
                (t.trigger, name) for name in names
                for user in [self.world.user(s, name)] if permissions.can_see(user, case)
                for t in self.rt.engine.available_triggers(s, case, user))
        # Mostly forward: to an open state, or to the successful end.
        forward = [(t, who) for t, who in moves
                   if not definition.is_terminal(definition.transitions[t].dest)
                   or definition.state(definition.transitions[t].dest).outcome == "success"]
        if not moves:
            return
        trigger, who = data.draw(st.sampled_from(forward) if forward and data.draw(
            st.integers(0, 5)) else st.sampled_from(moves))
        tdef = definition.transitions[trigger]
        if prepare:
            self._prepare(case_id, tuple(g.name for g in tdef.guards), grid)
        try:
            with self.rt.db.session() as s:
                self.rt.engine.fire(s, case_id, trigger, actor=self.world.user(s, who),
                                    data=build_data(definition, tdef.requires, grid, "valid",
                                                    data.draw), now=self.now)
            event(f"advanced {trigger}")
        except MediationError as exc:
            event(f"advance refused {type(exc).__name__}")
        self._refresh_cases()

    def _prepare(self, case_id: int, guards: tuple[str, ...], grid: str) -> None:
        """What the built-in guards look for, done by the grid's reviewer (a supervisor)."""
        try:
            with self.rt.db.session() as s:
                actor = self.world.user(s, REVIEWER[grid])
                case = s.get(Case, case_id)
                if "agreement_in_force" in guards and not (
                        case.agreement and case.agreement.effective_at):
                    save_agreement(s, self.rt.engine, case_id, dict(AGREEMENT), actor=actor,
                                   now=self.now)
                    for signer in [*(str(p.id) for p in case.parties), "mediator"]:
                        add_signature(s, self.rt.engine, case_id, signer=signer,
                                      method="signature", signed_at=self.now, actor=actor,
                                      now=self.now)
                if "follow_up_performed" in guards:
                    self.rt.engine.act(s, case_id, "record_follow_up", actor=actor, data={
                        "date": TODAY, "method": "电话", "result": "performed"},
                        now=self.now)
        except MediationError:
            pass

    @rule(index=st.integers(0, MAX_CASES), action=st.sampled_from(ACTIONS),
          kind=st.sampled_from(KINDS), data=st.data())
    def act(self, index: int, action: str, kind: str, data: Any) -> None:
        self._tick(5)
        try:
            with self.rt.db.session() as s:
                case = self._case(s, index)
                definition = self.rt.engine.definition(s, case)
                adef = definition.actions.get(action)
                names = (*adef.requires, *adef.optional) if adef else ("text",)
                payload = build_data(definition, names, case.grid.code, kind, data.draw)
                if action == "record_follow_up" and kind == "valid":
                    payload["result"] = data.draw(st.sampled_from(["performed", "partly"]))
                who = self._who(case, data.draw)
                self.rt.engine.act(s, case.id, action, actor=self.world.user(s, who),
                                   data=payload, now=self.now)
        except MediationError:
            pass

    @rule(index=st.integers(0, MAX_CASES), signers=st.integers(0, 3), data=st.data())
    def agree(self, index: int, signers: int, data: Any) -> None:
        """Draft (or redraft) the written agreement and collect some of its signatures."""
        self._tick(3)
        try:
            with self.rt.db.session() as s:
                case = self._case(s, index)
                actor = self.world.user(s, self._who(case, data.draw))
                save_agreement(s, self.rt.engine, case.id, dict(AGREEMENT), actor=actor,
                               now=self.now)
                for signer in [*(str(p.id) for p in case.parties), "mediator"][:signers]:
                    add_signature(s, self.rt.engine, case.id, signer=signer, method="seal",
                                  signed_at=self.now, actor=actor, now=self.now)
        except MediationError:
            pass

    @precondition(lambda self: len(self.cases) < MAX_CASES)
    @rule(grid=st.sampled_from(sorted(REPORTER)), workflow=st.sampled_from(sorted(DEFINITIONS)),
          risk=st.sampled_from(["low", "medium", "high"]))
    def report(self, grid: str, workflow: str, risk: str) -> None:
        self._report(grid, workflow, risk)

    @rule(hours=st.sampled_from([1, 2, 12, 25, 73, 24 * 4, 24 * 16, 24 * 31]))
    def sweep(self, hours: int) -> None:
        self._tick(hours * 60)
        report = self.rt.engine.sweep(self.rt.db, self.now)
        assert report.errors == 0

    # invariants

    @invariant()
    def every_case_keeps_the_invariants(self) -> None:
        with self.rt.db.session() as s:
            cases = list(s.scalars(select(Case).order_by(Case.id)))
            events: dict[int, list[Event]] = {c.id: [] for c in cases}
            for ev in s.scalars(select(Event).order_by(Event.case_id, Event.seq)):
                events[ev.case_id].append(ev)
            for case in cases:
                definition = self.rt.engine.definition(s, case)
                evs = events[case.id]
                assert case.state in definition.states
                report = verify_events(case.id, case.report_no, evs)
                assert report.valid, report
                assert case.version == len(evs), (case.case_no, case.version, len(evs))
                assert (evs[0].kind, evs[0].to_state) == ("created", definition.initial)
                replay = definition.initial
                for ev in evs[1:]:
                    if ev.kind == "transition":
                        assert ev.from_state == replay, (case.case_no, ev.seq)
                        assert ev.to_state == definition.transitions[ev.name].dest
                        replay = ev.to_state
                    else:  # actions, drafts, signatures, reminders do not move the case
                        assert ev.from_state == ev.to_state == replay, (case.case_no, ev.seq)
                assert case.state == replay
                if case.id in self.closed:
                    assert case.state == self.closed[case.id]
                elif definition.is_terminal(case.state):
                    self.closed[case.id] = case.state
                    assert case.closed_at is not None
        self._terminal_states_absorb()

    def _terminal_states_absorb(self) -> None:
        """No trigger fires from a terminal state, not even for the system (which skips the
        who-may rule); tried once per closed case, in a transaction rolled back."""
        for case_id in set(self.closed) - self.checked_absorbing:
            self.checked_absorbing.add(case_id)
            session = self.rt.db.sessionmaker()
            try:
                case = session.get(Case, case_id)
                definition = self.rt.engine.definition(session, case)
                assert self.rt.engine.store.machine(definition).triggers(case.state) == []
                for trigger in definition.transitions:
                    with pytest.raises(Conflict):
                        self.rt.engine.fire(session, case_id, trigger, actor=None,
                                            data={"reason": "x"}, now=self.now)
            finally:
                session.rollback()
                session.close()


def test_random_sequences_keep_every_invariant(module_world: World) -> None:
    machine = type("BoundCaseMachine", (CaseMachine,), {"world": module_world})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
