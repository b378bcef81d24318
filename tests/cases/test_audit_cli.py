"""``mediation audit verify`` and the API's verify on tampered trails."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from mediation import cli
from mediation.cases import cli as cases_cli


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
    assert f"event {last}" in result.output and "missing at the end" in result.output


def test_an_unknown_case_number_is_an_error(world, run):
    result = run("audit", "verify", "--case", "（2026）无此人调字第9999号")
    assert result.exit_code == 2 and "no case" in result.output
