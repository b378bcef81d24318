"""Notices: every outbox ``notify`` lands in the inbox of the people its target names."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mediation.cases.operations import create_case
from mediation.jobs.outbox import process_outbox
from mediation.notifications.delivery import CHANNELS, add_channel
from mediation.notifications.models import Notification
from mediation.timeutil import utcnow
from mediation.workflow.models import OutboxRow
from tests.factories import World, case_body


def inbox(world: World) -> list[tuple[str, str, str]]:
    """(username, kind, Chinese text) of every notice, after running the outbox."""
    process_outbox(world.rt)
    with world.rt.db.session() as s:
        rows = s.scalars(select(Notification).order_by(Notification.id)).all()
        names = {u.id: u.username for u in [world.user(s, n) for n in
                                            ("v1", "v1b", "v2", "v3", "r1", "r2", "l1", "l2")]}
        return [(names.get(n.user_id, "?"), n.kind, n.text["zh-CN"]) for n in rows]


def test_an_escalation_reaches_the_reviewers_of_the_street_only(world: World) -> None:
    world.case_in("escalated")
    got = inbox(world)
    assert [(u, k) for u, k, _ in got] == [("r1", "transition")]
    assert "上报矛调中心" in got[0][2] and "双方分歧较大" in got[0][2]


def test_a_referral_reaches_the_lawyer_and_a_return_the_grid(world: World) -> None:
    case_id = world.case_in("escalated")
    world.fire(case_id, "refer_legal", "r1", {"lawyer": "l1"})
    assert [u for u, *_ in inbox(world)] == ["r1", "l1"]
    other = world.case_in("escalated")
    world.fire(other, "return_to_grid", "r1", {"instructions": "请网格先行调解"})
    returned = [(u, t) for u, _, t in inbox(world)][3:]
    assert {u for u, _ in returned} <= {"v1", "v1b"} and returned
    assert all("请网格先行调解" in t for _, t in returned)


def test_nobody_is_told_of_their_own_step(world: World) -> None:
    case_id = world.case_in("escalated")
    world.fire(case_id, "assign_center", "r1", {"mediator": "r1"})
    assert [u for u, *_ in inbox(world)] == ["r1"]  # the escalation; not the assignment


def test_a_high_risk_report_alerts_the_centre_and_the_police_post(world: World, caplog) -> None:
    world.new_case(risk_level="high")
    got = inbox(world)
    assert [(u, k) for u, k, _ in got] == [("r1", "alert")]
    assert "派出所" in got[0][2]
    assert any("NOTIFY police_post" in r.getMessage() for r in caplog.records)


def test_a_reminder_reaches_the_grid_while_nobody_handles_the_case(world: World) -> None:
    with world.rt.db.session() as s:
        create_case(s, world.rt.engine, case_body(), actor=world.user(s, "v1"),
                    now=utcnow() - timedelta(hours=30))
    report = world.rt.engine.sweep(world.rt.db)
    assert report.by_kind == {"remind": 1}
    got = inbox(world)
    assert sorted(u for u, *_ in got) == ["v1", "v1b"]
    assert all(k == "remind" and "24小时" in t for _, k, t in got)
    with world.rt.db.session() as s:
        english = s.scalars(select(Notification)).first().text["en"]
    assert "24 hours" in english


def test_a_notice_is_written_once_however_often_its_row_runs(world: World) -> None:
    world.case_in("escalated")
    from mediation.workflow.registry import run_queued

    with world.rt.db.session() as s:
        row = s.scalars(select(OutboxRow)).one()
        s.info["runtime"] = world.rt
        run_queued(s, row)
        run_queued(s, row)
    with world.rt.db.session() as s:
        assert len(s.scalars(select(Notification)).all()) == 1


def test_a_gateway_plugs_in_as_a_channel(world: World) -> None:
    sent = []

    class Sms:
        name = "sms"

        def send(self, session, notice):
            sent.extend((u.username, notice.text.render("zh-CN")) for u in notice.recipients)

    add_channel(Sms())
    try:
        world.case_in("escalated")
        process_outbox(world.rt)
    finally:
        CHANNELS.pop()
    assert [u for u, _ in sent] == ["r1"]
