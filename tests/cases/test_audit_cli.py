"""``mediation audit verify`` and the API's verify on tampered trails."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from mediation import cli
from mediation.cases import cli as cases_cli
from mediation.cases.evidence import verify_record
from mediation.workflow.audit import replay
from mediation.workflow.models import Event


@pytest.fixture
def run(rt, monkeypatch):
    monkeypatch.setattr(cli, "runtime", lambda: rt)
    monkeypatch.setattr(cases_cli, "runtime", lambda: rt)

    def _run(*args: str):
        return CliRunner().invoke(cli.main, list(args))
    return _run


def _case_no(rt, case_id):
    with rt.db.engine.connect() as conn:
        return conn.execute(text("SELECT case_no FROM cases WHERE id = :i"), {"i": case_id}
                            ).scalar_one()


def test_an_intact_trail_verifies(world, run):
    world.case_in("resolved")
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "1 case(s) checked, 0 broken" in result.output


def test_an_edited_event_is_named(world, run):
    case_id = world.case_in("performing")
    with world.rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'v1b' WHERE case_id = :i AND seq = 3"),
                     {"i": case_id})
    result = run("audit", "verify", "--case", _case_no(world.rt, case_id))
    assert result.exit_code == 1
    assert "event 3" in result.output and "BROKEN" in result.output


def test_events_cut_from_the_end_are_noticed(world, run, client):
    case_id = world.case_in("litigation")
    with world.rt.db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM events WHERE case_id = :i"),
                            {"i": case_id}).scalar_one()
        conn.execute(text("DELETE FROM events WHERE case_id = :i AND seq = :s"),
                     {"i": case_id, "s": last})
    result = run("audit", "verify")
    assert result.exit_code == 1
    # the case row no longer matches the replay of its shortened chain
    assert "case_row version" in result.output and "case_row state" in result.output


def test_a_cut_with_the_counters_lowered_is_caught_by_the_checkpoint(world, run):
    case_id = world.case_in("litigation")
    result = run("audit", "checkpoint")
    assert result.exit_code == 0 and "checkpoint written" in result.output, result.output
    assert "no chain moved" in run("audit", "checkpoint").output
    with world.rt.db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM events WHERE case_id = :i"),
                            {"i": case_id}).scalar_one()
        # the attacker deletes the last event and puts the case row back as it was before it
        row = conn.execute(text("SELECT state, version FROM cases WHERE id = :i"),
                           {"i": case_id}).one()
        conn.execute(text("DELETE FROM events WHERE case_id = :i AND seq = :s"),
                     {"i": case_id, "s": last})
    with world.rt.db.session() as s:
        evs = list(s.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
        expected = replay(evs).case
        assert expected["version"] == row.version - 1
    with world.rt.db.engine.begin() as conn:
        sets = ", ".join(f"{k} = :{k}" for k in ("state", "version", "closed_at", "updated_at",
                                                 "state_entered_at", "due_at", "overdue_at",
                                                 "assignee_id", "accepted_at", "case_no"))
        values = {k: expected[k] for k in ("state", "version", "closed_at", "updated_at",
                                           "state_entered_at", "due_at", "overdue_at",
                                           "assignee_id", "accepted_at", "case_no")}
        # ... and the chain head the row keeps: the hash of what is now the last event
        conn.execute(text(f"UPDATE cases SET {sets}, chain_head = :head WHERE id = :i"),
                     {**values, "head": evs[-1].hash, "i": case_id})
    with world.rt.db.session() as s:
        # without the checkpoint, the shortened record is consistent
        assert verify_record(s, case_id).valid
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"checkpoint 1 recorded event {last}" in result.output
    assert "cut off its end" in result.output


def test_an_unknown_case_number_is_an_error(world, run):
    result = run("audit", "verify", "--case", "（2026）无此人调字第9999号")
    assert result.exit_code == 2 and "no case" in result.output
