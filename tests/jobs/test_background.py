"""The embedded setup's in-process jobs: the deadline sweep and the outbox, in a thread."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from mediation.cases.models import Case
from mediation.jobs.background import BackgroundJobs
from mediation.jobs.outbox import process_outbox
from mediation.timeutil import utcnow
from mediation.workflow.models import OutboxRow
from tests.factories import case_body


def _wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_server_thread_sweeps_due_deadlines_and_runs_the_outbox(world):
    rt = world.rt
    rt.config = rt.config.with_(sweep_interval=1)
    # A whistle blown four days ago: its 72-hour auto-escalation is due.
    with rt.db.session() as s:
        from mediation.cases.operations import create_case

        case, _ = create_case(s, rt.engine, case_body(), actor=world.user(s, "v1"),
                              now=utcnow() - timedelta(days=4))
        case_id = case.id
    accepted = world.new_case()
    world.fire(accepted, "accept", "v1")  # queues the rights notice in the outbox
    jobs = BackgroundJobs(rt, outbox_interval=0.2)
    jobs.start()
    try:
        assert _wait_for(lambda: world.case(case_id).state == "escalated")

        def outbox_drained() -> bool:
            # a session per look: an open SQLite transaction would hold the write lock
            with rt.db.session() as s:
                return not s.scalars(select(OutboxRow).where(
                    OutboxRow.processed_at.is_(None))).all()

        assert _wait_for(outbox_drained)
    finally:
        jobs.stop()
        jobs.join(10)
    assert not jobs.is_alive()
    with rt.db.session() as s:
        escalated = s.get(Case, case_id)
        assert escalated.assignee_id is None
        rows = s.scalars(select(OutboxRow)).all()
        assert rows and all(r.processed_at is not None and r.error is None for r in rows)


def test_an_effect_that_fails_is_retried_later_not_lost(world, monkeypatch):
    rt = world.rt
    case_id = world.new_case()
    world.fire(case_id, "accept", "v1")
    from mediation.workflow import registry

    spec = registry.EFFECTS["render"]
    monkeypatch.setitem(registry.EFFECTS, "render", registry.EffectSpec(
        "render", lambda session, row: 1 / 0, spec.inline, spec.params))
    report = process_outbox(rt)
    assert report.failed == 1 and report.done == 0
    with rt.db.session() as s:
        row = s.scalars(select(OutboxRow)).one()
        assert row.processed_at is None and "ZeroDivisionError" in row.error
        assert row.available_at > utcnow()  # backs off
    monkeypatch.setitem(registry.EFFECTS, "render", spec)
    assert process_outbox(rt, now=utcnow() + timedelta(hours=1)).done == 1
