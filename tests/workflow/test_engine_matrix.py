"""Every (role, state, trigger) of ``aunt_whistle``, parametrised from the definition itself.

For each combination a user of the role fires the trigger with valid data (built from the
trigger's ``requires`` and the field types) on a case walked to the state, with whatever its
guards need prepared. The expected outcome is computed from the definition and the who-may
rule (mediation/cases/permissions.py, DESIGN.md §1–2), not read from the engine:

- the user cannot see the case → NotFound (404);
- the state is not one of the trigger's ``from`` → Conflict (409);
- the rule refuses the user → Forbidden (403);
- otherwise the case moves to the trigger's ``to``, with exactly one new transition event.

Refused attempts change nothing, so the cases they use are shared (one per road and state);
a combination expected to succeed takes a case of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from mediation.auth.models import LEGAL_ROLE, ROLES, User
from mediation.cases.models import Case
from mediation.errors import Conflict, Forbidden, MediationError, NotFound
from mediation.orgs.models import OrgUnit
from mediation.resources import data_dir
from mediation.runtime import Runtime
from mediation.workflow.audit import verify_case
from mediation.workflow.definition import Definition, FieldDef, TransitionDef, load_file
from mediation.workflow.models import Event
from tests.conftest import empty, make_config
from tests.factories import TODAY, World

DEFINITION: Definition = load_file(data_dir("workflows") / "aunt_whistle.toml")
STATES = list(DEFINITION.states)
TRIGGERS = list(DEFINITION.transitions)

# Two roads through the definition. "grid" is the factories' usual road (the volunteer v1
# accepts, the reviewer r1 mediates at the centre, the lawyer l1 takes legal service); "legal"
# passes through legal service first, so that a lawyer of the district can see the case in
# every state after ``reported`` (DESIGN.md §1: lawyers see only cases referred to them).
Step = tuple[str, str | None, dict[str, Any]]
_LEGAL: list[Step] = [("escalate", "v1", {"reason": "分歧大"}),
                      ("refer_legal", "r1", {"lawyer": "l1"})]
_LEGAL_PERFORMING: list[Step] = [*_LEGAL, ("@sign", "r1", {}), ("sign_agreement", "l1", {})]
_LEGAL_ESCALATED: list[Step] = [*_LEGAL_PERFORMING, ("report_breach", "l1", {"reason": "未履行"})]
ROADS: dict[str, dict[str, list[Step]]] = {
    "grid": World.PATHS,
    "legal": {
        "reported": [],
        "legal_service": _LEGAL,
        "performing": _LEGAL_PERFORMING,
        "resolved": [*_LEGAL_PERFORMING, ("@follow_up", "l1", {}),
                     ("confirm_performance", "l1", {})],
        "escalated": _LEGAL_ESCALATED,
        "center_mediation": [*_LEGAL_ESCALATED, ("assign_center", "r1", {"mediator": "r1"})],
        "grid_mediation": [*_LEGAL_ESCALATED, ("return_to_grid", "r1", {"instructions": "退回"})],
        "litigation": [*_LEGAL, ("end_without_agreement", "l1",
                                 {"routes_informed": True, "reason": "协商不成"})],
        "withdrawn": [*_LEGAL, ("withdraw", "l1", {"statement": "撤回"})],
        "rejected": [*_LEGAL_ESCALATED, ("reject", "r1", {"reason": "已起诉"})],
    },
}


@dataclass(frozen=True)
class Persona:
    """A user of a role, and the road their cases take."""

    role: str
    username: str
    road: str

    @property
    def id(self) -> str:
        return f"{self.role}:{self.username}@{self.road}"


# One user per role that the world has, plus a second volunteer of the same grid who is not
# the handler of the cases the first one accepts.
PERSONAS = [Persona("volunteer", "v1", "grid"), Persona("volunteer", "v1b", "grid"),
            Persona("reviewer", "r1", "grid"), Persona("lawyer", "l1", "legal"),
            Persona("admin", "admin", "grid")]
assert {p.role for p in PERSONAS} == set(ROLES)
assert all(set(road) == set(STATES) for road in ROADS.values())

# Users that valid data names, by the role a ``user`` field asks for (None: any role).
USER_FOR_ROLE = {"reviewer": "r1", "lawyer": "l1", "volunteer": "v1", None: "v1"}


def field_value(fd: FieldDef) -> Any:
    """A valid value of a field, from its type."""
    return {
        "text": lambda: f"测试{fd.label.zh}",
        "user": lambda: USER_FOR_ROLE[fd.role],
        "confirm": lambda: True,
        "date": lambda: TODAY,
        "choice": lambda: fd.choices[0],
        "names": lambda: ["张桂芳", "李建国"],
    }[fd.type]()


def valid_data(tdef: TransitionDef) -> dict[str, Any]:
    """Data a trigger accepts: every required field with a valid value."""
    return {name: field_value(DEFINITION.fields[name]) for name in tdef.requires}


# -- the who-may rule, written out from permissions.py's docstring --------------------------

def can_see(session: Any, user: User, case: Case) -> bool:
    """DESIGN.md §1: own cases, the unit's subtree; lawyers: cases referred to their district."""
    if case.assignee_id == user.id:
        return True
    if user.role == LEGAL_ROLE:
        if case.legal_unit_id is None:
            return False
        unit = session.get(OrgUnit, case.legal_unit_id)
        return unit.path.startswith(user.org_unit.path)
    return case.grid.path.startswith(user.org_unit.path)


def may_fire(tdef: TransitionDef, state: str, user: User, case: Case) -> bool:
    """The rule: with a handler, the handler (if the trigger's roles include their role) and
    a supervisor whose street contains the case; without one, any user of a listed role whose
    unit contains the case. No declared role: nobody."""
    roles = tdef.roles_for(state)
    contains = case.grid.path.startswith(user.org_unit.path)
    handler = case.assignee
    if not roles:
        return False
    if handler is not None:
        supervisor = user.role == DEFINITION.supervisor_role and contains
        return handler.role in roles and (user.id == handler.id or supervisor)
    return user.role in roles and contains


def expected_outcome(session: Any, trigger: str, state: str, user: User,
                     case: Case) -> type[MediationError] | str:
    """The exception the attempt must raise, or the state it must reach."""
    tdef = DEFINITION.transitions[trigger]
    if not can_see(session, user, case):
        return NotFound
    if state not in tdef.sources:
        return Conflict
    if not may_fire(tdef, state, user, case):
        return Forbidden
    return tdef.dest


# -- cases ---------------------------------------------------------------------------------

class Cases:
    """Cases walked along the roads, prepared for every guard of the state's triggers."""

    def __init__(self, world: World):
        self.world = world
        self.shared: dict[tuple[str, str], int] = {}

    def walk(self, road: str, state: str) -> int:
        w = self.world
        case_id = w.new_case()
        w.walk(case_id, ROADS[road][state])
        self.prepare_guards(case_id, state)
        assert w.case(case_id).state == state
        return case_id

    def prepare_guards(self, case_id: int, state: str) -> None:
        """Give each guarded trigger that can fire from ``state`` what its guard needs (done
        by r1, the supervising reviewer, so the handler stays who the road made it)."""
        guards = {g.name for t in DEFINITION.transitions_from(state) for g in t.guards}
        if "agreement_in_force" in guards:
            with self.world.rt.db.session() as s:
                case = s.get(Case, case_id)
                in_force = case.agreement is not None and case.agreement.effective_at
                handled = case.assignee_id is not None
            if handled and not in_force:
                self.world.sign_all(case_id, "r1")
            elif not handled:  # no mediator to sign a written one: an oral agreement
                self.world.act(case_id, "register_oral_agreement", "r1",
                               {"content": "双方口头约定", "date": TODAY})
        if "follow_up_performed" in guards:
            self.world.act(case_id, "record_follow_up", "r1",
                           {"date": TODAY, "method": "电话", "result": "performed"})
        assert guards <= {"agreement_in_force", "follow_up_performed"}, guards

    def shared_case(self, road: str, state: str) -> int:
        """A case for attempts that must change nothing (a test that finds otherwise fails
        and drops it, see :meth:`drop`)."""
        case_id = self.shared.get((road, state))
        if case_id is None:
            case_id = self.shared[(road, state)] = self.walk(road, state)
        return case_id

    def own_case(self, road: str, state: str) -> int:
        """A case for an attempt that moves it: the shared one, which is then not shared."""
        case_id = self.shared_case(road, state)
        del self.shared[(road, state)]
        return case_id

    def drop(self, road: str, state: str) -> None:
        """Forget the shared case (a failed test may have changed it)."""
        self.shared.pop((road, state), None)


@pytest.fixture(scope="module")
def cases(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cases]:
    """One world per backend for the whole module (building users hashes passwords)."""
    runtime = Runtime(make_config(backend, tmp_path_factory.mktemp("instance")))
    empty(runtime)
    yield Cases(World(runtime).build())
    runtime.close()


def _combinations() -> Iterator[Any]:
    for persona, state, trigger in itertools.product(PERSONAS, STATES, TRIGGERS):
        yield pytest.param(persona, state, trigger, id=f"{persona.id}-{state}-{trigger}")


@pytest.mark.parametrize(("persona", "state", "trigger"), list(_combinations()))
def test_fire(cases: Cases, persona: Persona, state: str, trigger: str) -> None:
    try:
        _try_fire(cases, persona, state, trigger)
    except BaseException:
        cases.drop(persona.road, state)
        raise


def _try_fire(cases: Cases, persona: Persona, state: str, trigger: str) -> None:
    w = cases.world
    tdef = DEFINITION.transitions[trigger]
    case_id = cases.shared_case(persona.road, state)
    with w.rt.db.session() as s:
        case = s.get(Case, case_id)
        assert case.state == state
        expected = expected_outcome(s, trigger, state, w.user(s, persona.username), case)
        version = case.version
        events = s.scalar(select(func.count()).select_from(Event).where(Event.case_id == case_id))
    if isinstance(expected, str):
        cases.own_case(persona.road, state)

    with w.rt.db.session() as s:
        def call() -> Any:
            return w.rt.engine.fire(s, case_id, trigger, actor=w.user(s, persona.username),
                                    data=valid_data(tdef), expected_version=version)

        if isinstance(expected, str):
            assert call().case.state == expected
        else:
            with pytest.raises(MediationError) as info:
                call()
            assert type(info.value) is expected, info.value.detail.render("en")
            assert info.value.status == {NotFound: 404, Conflict: 409, Forbidden: 403}[expected]

    with w.rt.db.session() as s:
        after = s.get(Case, case_id)
        new_events = list(s.scalars(select(Event).where(Event.case_id == case_id,
                                                        Event.seq > events)))
        if isinstance(expected, str):
            assert after.state == tdef.dest
            # one event, and one more when the trigger voids the agreement in force (a breach)
            assert after.version == version + len(new_events)
            assert [(e.kind, e.name, e.from_state, e.to_state, e.actor)
                    for e in new_events[:1]] == [
                ("transition", trigger, state, tdef.dest, persona.username)]
            assert [(e.kind, e.name) for e in new_events[1:]] in (
                [], [("agreement", "void")])
            assert verify_case(s, case_id, after.report_no).valid
        else:
            # A refused attempt changes nothing (DESIGN.md §5).
            assert (after.state, after.version, new_events) == (state, version, [])


# A lawyer sees no case in the initial state (nothing is referred yet): the API answers 404
# before it would list buttons.
@pytest.mark.parametrize(("persona", "state"), [
    pytest.param(p, st, id=f"{p.id}-{st}") for p, st in itertools.product(PERSONAS, STATES)
    if not (p.role == LEGAL_ROLE and st == DEFINITION.initial)])
def test_available_triggers_are_those_the_rule_allows(cases: Cases, persona: Persona,
                                                      state: str) -> None:
    """The buttons a user sees are exactly the triggers the rule lets them fire from here."""
    w = cases.world
    case_id = cases.shared_case(persona.road, state)
    with w.rt.db.session() as s:
        case = s.get(Case, case_id)
        user = w.user(s, persona.username)
        assert case.state == state and can_see(s, user, case)
        offered = [t.trigger for t in w.rt.engine.available_triggers(s, case, user)]
        allowed = [t for t in TRIGGERS
                   if isinstance(expected_outcome(s, t, state, user, case), str)]
    assert offered == allowed
