"""What a user may do now, and if not, why (``Engine.options``); who a user picker lists."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mediation.auth.models import User
from mediation.cases.fields import user_candidates
from mediation.cases.models import Case
from mediation.cases.permissions import can_see
from mediation.workflow.registry import FIELD_TYPES, FieldContext
from tests.factories import TODAY, USERS, World


def options(world: World, case_id: int, username: str):
    with world.rt.db.session() as s:
        case = s.get(Case, case_id)
        return world.rt.engine.options(s, case, world.user(s, username))


def allowed(opts, kind: str = "trigger") -> set[str]:
    return {o.name for o in opts if o.kind == kind and o.allowed}


@pytest.mark.parametrize("state", list(World.PATHS))
@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_allowed_triggers_are_those_the_engine_lets_fire(world: World, state: str,
                                                         username: str) -> None:
    case_id = world.case_in(state)
    opts = options(world, case_id, username)
    with world.rt.db.session() as s:
        case = s.get(Case, case_id)
        user = world.user(s, username)
        if not can_see(user, case):
            assert opts == []
            return
        may = {t.trigger for t in world.rt.engine.available_triggers(s, case, user)}
        guarded = {t.trigger for t in world.rt.engine.available_triggers(s, case, user)
                   if t.guards}
        acts = set(world.rt.engine.available_actions(s, case, user))
    # every allowed trigger passes role and scope; only guards can hold one back
    assert allowed(opts) <= may and may - allowed(opts) <= guarded
    assert allowed(opts, "action") == acts
    assert all(o.reason is None for o in opts if o.allowed)
    assert all(o.reason is not None for o in opts if not o.allowed)


def test_a_case_out_of_sight_offers_nothing(world: World) -> None:
    case_id = world.case_in("reported")
    assert options(world, case_id, "v2") == []
    assert options(world, case_id, "l1") == []


def test_another_volunteer_is_told_who_handles_the_case(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    opts = {o.name: o for o in options(world, case_id, "v1b")}
    assert not opts["escalate"].allowed and opts["escalate"].relevant
    assert "王阿姨" in opts["escalate"].reason.render("zh-CN")
    assert opts["escalate"].confirm  # leaving the grid is asked for confirmation


def test_a_trigger_of_another_role_is_not_the_users_business(world: World) -> None:
    case_id = world.case_in("escalated")
    opts = {o.name: o for o in options(world, case_id, "v1")}
    assert not opts["assign_center"].allowed and not opts["assign_center"].relevant
    assert {o.name for o in options(world, case_id, "r1") if o.allowed} >= {
        "assign_center", "refer_legal", "return_to_grid", "reject"}


def test_a_guard_says_why_the_case_cannot_close_yet(world: World) -> None:
    case_id = world.case_in("performing")
    opts = {o.name: o for o in options(world, case_id, "v1")}
    assert not opts["confirm_performance"].allowed
    assert "回访" in opts["confirm_performance"].reason.render("zh-CN")
    world.act(case_id, "record_follow_up", "v1",
              {"date": TODAY, "method": "上门", "result": "performed"})
    opts = {o.name: o for o in options(world, case_id, "v1")}
    assert opts["confirm_performance"].allowed


def test_the_agreement_is_an_option_while_the_case_is_mediated(world: World) -> None:
    case_id = world.case_in("grid_mediation")
    (agreement,) = [o for o in options(world, case_id, "v1") if o.kind == "agreement"]
    assert agreement.allowed
    (other,) = [o for o in options(world, case_id, "v1b") if o.kind == "agreement"]
    assert not other.allowed and other.reason is not None
    reported = world.case_in("reported")
    assert not [o for o in options(world, reported, "v1") if o.kind == "agreement"]


@pytest.mark.parametrize("field", ["mediator", "lawyer", "to"])
@pytest.mark.parametrize("grid", ["G1", "G3"])
def test_a_user_picker_lists_exactly_whom_the_field_accepts(world: World, field: str,
                                                             grid: str) -> None:
    case_id = world.new_case(grid=grid, username="v1" if grid == "G1" else "v3")
    with world.rt.db.session() as s:
        case = s.get(Case, case_id)
        definition = world.rt.engine.definition(s, case)
        fd = definition.fields[field]
        listed = {u.username for u in user_candidates(s, fd, case)}
        ctx = FieldContext(session=s, case=case, actor=None)
        accepted = set()
        for user in s.scalars(select(User)):
            try:
                FIELD_TYPES["user"](user.username, fd, ctx)
            except ValueError:
                continue
            accepted.add(user.username)
    assert listed == accepted and listed
