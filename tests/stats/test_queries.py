"""The statistics of mediation.stats.queries on cases walked with the engine, on every backend:
what is received and closed in a period, outcomes and levels read from the definitions, the
rates, agreements, confirmations, overdue and open cases, and the API that serves them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.cases.numbering import CST
from mediation.orgs.operations import find_org
from mediation.stats.queries import case_level, case_stats, period_figures
from mediation.timeutil import utcnow
from mediation.workflow.definition import parse_definition
from tests.api.conftest import api  # noqa: F401  (the API as the world's users)
from tests.factories import TODAY, World

ROAD = ["resolved", "litigation", "withdrawn", "rejected", "performing", "escalated"]


@pytest.fixture
def walked(rt, world: World) -> dict[str, int]:
    """One case in each state of ROAD, a judicial confirmation on the one being performed, and
    the escalated one flagged overdue by a sweep four days on."""
    cases = {state: world.case_in(state) for state in ROAD}
    world.act(cases["performing"], "record_judicial_confirmation", "v1",
              {"court": "杭州市上城区人民法院", "applied_on": TODAY})
    report = rt.engine.sweep(rt.db, now=utcnow() + timedelta(days=4))
    assert report.by_kind == {"overdue": 1}
    return cases


def figures(rt, **kw):
    with rt.db.session() as s:
        return period_figures(s, rt.store, org=find_org(s, "D1"), **kw)


def test_every_figure_of_cases_walked_with_the_engine(rt, world, walked):
    fig = figures(rt, now=utcnow() + timedelta(days=4))  # when the sweep ran
    assert fig.received == 6
    assert fig.by_state == {state: 1 for state in ROAD}
    assert fig.by_category == {"邻里": 6} and fig.by_source == {"whistle": 6}
    assert fig.by_risk == {"medium": 6}
    assert fig.closed == 4
    assert fig.closed_by_state == {"resolved": 1, "litigation": 1, "withdrawn": 1, "rejected": 1}
    # outcomes and levels are the definition's: reported and grid_mediation are "grid",
    # escalated and center_mediation "center"
    assert fig.by_outcome == {"success": 1, "failure": 1, "withdrawn": 1, "rejected": 1}
    # the rejected report and the one withdrawn before acceptance were never mediated: 1
    # success of 2 mediations concluded, settled inside the grid
    assert fig.accepted == 3  # resolved, litigation, performing (entered mediation)
    assert (fig.mediated, fig.success, fig.in_community, fig.not_accepted) == (2, 1, 1, 2)
    assert fig.by_level == {"grid": 1, "center": 1}
    assert fig.success_rate == fig.in_community_rate == 0.5
    assert fig.agreements_signed == 2  # the resolved and the performing case's agreements
    assert fig.agreements_performed == 1
    assert fig.judicial_confirmations == 1
    assert [c.state for c in fig.overdue_cases] == ["escalated"] and fig.overdue == 1
    assert fig.open_at_end == 2
    assert fig.state_label("litigation") == "终止调解·引导诉讼仲裁"
    assert fig.state_label("litigation", "en").startswith("Mediation ended")


def test_a_case_taken_to_the_centre_is_not_settled_in_the_community(rt, world):
    case_id = world.new_case()
    world.fire(case_id, "escalate", "v1", {"reason": "分歧大"})
    world.fire(case_id, "return_to_grid", "r1", {"instructions": "由网格继续调解"})
    world.act(case_id, "reassign", "v1", {"to": "v1", "reason": "退回后继续调解"})
    world.sign_all(case_id, "v1")
    world.fire(case_id, "sign_agreement", "v1")
    world.act(case_id, "record_follow_up", "v1",
              {"date": TODAY, "method": "电话", "result": "performed"})
    world.fire(case_id, "confirm_performance", "v1")
    fig = figures(rt)
    assert fig.by_outcome == {"success": 1} and fig.by_level == {"center": 1}
    assert (fig.success, fig.in_community) == (1, 0)
    assert fig.success_rate == 1.0 and fig.in_community_rate == 0.0


def test_received_and_closed_count_in_their_own_periods(rt, world):
    t0 = utcnow()
    case_id = world.new_case()
    world.fire(case_id, "accept", "v1", now=t0 + timedelta(days=1))
    world.fire(case_id, "withdraw", "v1", {"statement": "双方已自行和解"},
               now=t0 + timedelta(days=40))
    day = timedelta(days=1)
    later = t0 + 70 * day  # the figures of past periods, as seen at that time
    opened = figures(rt, start=t0 - day, end=t0 + day, now=later)
    assert (opened.received, opened.accepted, opened.closed, opened.open_at_end) == (1, 0, 0, 1)
    assert opened.by_outcome == {} and opened.success_rate is None
    accepted = figures(rt, start=t0 + day, end=t0 + 2 * day, now=later)
    assert (accepted.received, accepted.accepted, accepted.closed) == (0, 1, 0)
    closed = figures(rt, start=t0 + 39 * day, end=t0 + 41 * day, now=later)
    assert (closed.received, closed.closed, closed.open_at_end) == (0, 1, 0)
    assert closed.by_outcome == {"withdrawn": 1} and closed.mediated == 1
    assert closed.success_rate == 0.0
    after = figures(rt, start=t0 + 50 * day, end=t0 + 60 * day, now=later)
    assert (after.received, after.closed, after.open_at_end) == (0, 0, 0)
    # a period not yet over counts up to now: nothing closed yet
    assert figures(rt, start=t0 - day, end=t0 + 41 * day).closed == 0
    # case_stats takes China-time days, both included
    with rt.db.session() as s:
        local = (t0 + CST).date()
        stats = case_stats(s, rt.store, org=find_org(s, "D1"), date_from=local, date_to=local)
        assert stats.received == 1 and stats.closed == 0


def test_figures_are_limited_to_what_the_user_sees(rt, world, walked):
    with rt.db.session() as s:
        org = find_org(s, "D1")
        assert case_stats(s, rt.store, org=org, user=world.user(s, "r1")).received == 6
        assert case_stats(s, rt.store, org=org, user=world.user(s, "v2")).received == 0
        assert case_stats(s, rt.store, org=find_org(s, "S2")).received == 0
        assert case_stats(s, rt.store, org=org, workflow="consultation").received == 0


def test_the_api_serves_the_same_figures(rt, world, walked, api):  # noqa: F811
    r = api.get("/stats", "r1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    with rt.db.session() as s:
        expected = case_stats(s, rt.store, org=find_org(s, "S1")).as_api()
    for key in ("total", "accepted", "by_state", "by_category", "success_rate",
                "in_community_rate", "overdue"):
        assert body[key] == expected[key], key
    assert body["total"] == 6 and body["success_rate"] == 0.5 and body["accepted"] == 3
    assert body["org"] == "S1" and body["from"] is None


def test_level_is_the_highest_the_definition_gives_any_state_reached():
    definition = parse_definition(b"""
name = "levels"
label = "levels"
initial = "a"
[states.a]
label = "A"
level = "center"
[states.b]
label = "B"
level = "legal"
[states.c]
label = "C"
terminal = true
outcome = "success"
[transitions.go]
label = "go"
from = ["a", "b"]
to = "c"
roles = ["volunteer"]
""")
    assert case_level(definition, ["a", "c"]) == "center"
    assert case_level(definition, ["b", "a", "c"]) == "legal"
    assert case_level(definition, ["c", "unknown"]) is None
