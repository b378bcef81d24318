"""The case row keeps the head of its hash chain (issue 9): every change chains its event from
there instead of reading the last one back, writes the new head with the case row, and
verification holds the row's head against the chain."""

from __future__ import annotations

from sqlalchemy import select, text, update

from mediation.cases.evidence import verify_record
from mediation.cases.models import Case
from mediation.workflow.models import Event
from tests.factories import World


def _heads(world: World, case_id: int) -> tuple[str | None, str, int, int]:
    with world.rt.db.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        last = s.execute(select(Event.seq, Event.hash).where(Event.case_id == case_id)
                         .order_by(Event.seq.desc()).limit(1)).one()
        return case.chain_head, last.hash, case.version, last.seq


def test_every_change_keeps_the_head_on_the_case_row(world: World) -> None:
    case_id = world.new_case("v1")
    head, last, version, seq = _heads(world, case_id)
    assert head == last and version == seq == 1
    world.fire(case_id, "accept", "v1")
    world.act(case_id, "add_note", "v1", {"text": "双方同意周五面谈"})
    world.fire(case_id, "escalate", "v1", {"reason": "分歧较大"})
    head, last, version, seq = _heads(world, case_id)
    assert head == last and version == seq == 4
    with world.rt.db.session() as s:
        assert verify_record(s, case_id).valid


def test_a_head_changed_in_the_database_is_caught(world: World) -> None:
    case_id = world.new_case("v1")
    world.fire(case_id, "accept", "v1")
    with world.rt.db.engine.begin() as conn:
        conn.execute(update(Case).where(Case.id == case_id).values(chain_head="0" * 64))
    with world.rt.db.session() as s:
        report = verify_record(s, case_id)
    assert [(p.what, p.where) for p in report.problems] == [("case_row", "chain_head")]


def test_a_row_without_a_head_chains_from_its_last_event(world: World) -> None:
    """A case row written before rows kept their head (NULL) goes on from the chain itself,
    and keeps its head from then on."""
    case_id = world.new_case("v1")
    world.fire(case_id, "accept", "v1")
    with world.rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET chain_head = NULL WHERE id = :i"), {"i": case_id})
    world.fire(case_id, "escalate", "v1", {"reason": "分歧较大"})
    head, last, version, seq = _heads(world, case_id)
    assert head == last and version == seq == 3
    with world.rt.db.session() as s:
        assert verify_record(s, case_id).valid
