"""Verifying a case's whole record (DESIGN.md §5, docs/audit.md): its chain, the case row and
every row of evidence against the replay of the chain, and the chain against the signed
checkpoints kept outside the database.

The evidence of a case: its row in ``cases``, its parties and who acts for them, every version
of its written agreement, their terms and signatures. Records (sessions, visits, court
applications ...) are events themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from mediation.cases.models import Agreement, AgreementTerm, Case, Party, PartyAgent, Signature
from mediation.workflow.audit import (
    HEAD_COLUMN,
    Problem,
    compare_case,
    compare_rows,
    image,
    replay,
    row_key,
    verify_chain,
)
from mediation.workflow.checkpoints import Head, Ledger, check_heads
from mediation.workflow.models import Event

_CASES = cast(Table, Case.__table__)
_PARTIES = cast(Table, Party.__table__)
_AGENTS = cast(Table, PartyAgent.__table__)
_AGREEMENTS = cast(Table, Agreement.__table__)
_TERMS = cast(Table, AgreementTerm.__table__)
_SIGNATURES = cast(Table, Signature.__table__)


@dataclass
class RecordReport:
    """What verifying one case found."""

    case_id: int
    number: str
    events: int
    head: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Nothing found wrong."""
        return not self.problems

    def as_api(self) -> dict[str, Any]:
        """The body of ``GET /cases/{id}/events/verify``."""
        first = self.problems[0] if self.problems else None
        return {"valid": self.valid, "events": self.events, "head": self.head,
                "broken_seq": next((p.seq for p in self.problems if p.seq), None),
                "reason": first.detail if first else None,
                "problems": [{"what": p.what, "where": p.where, "detail": p.detail}
                             for p in self.problems]}


def _images(session: Session, table: Table, where: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for row in session.execute(select(table).where(where)).mappings():
        yield row_key(str(table.name), row["id"]), image(dict(row))


def evidence_rows(session: Session, case_id: int) -> dict[str, dict[str, Any]]:
    """The images of every row of evidence of a case, as the database holds them."""
    parties = select(_PARTIES.c.id).where(_PARTIES.c.case_id == case_id)
    agreements = select(_AGREEMENTS.c.id).where(_AGREEMENTS.c.case_id == case_id)
    out: dict[str, dict[str, Any]] = {}
    for table, where in ((_PARTIES, _PARTIES.c.case_id == case_id),
                         (_AGENTS, _AGENTS.c.party_id.in_(parties)),
                         (_AGREEMENTS, _AGREEMENTS.c.case_id == case_id),
                         (_TERMS, _TERMS.c.agreement_id.in_(agreements)),
                         (_SIGNATURES, _SIGNATURES.c.agreement_id.in_(agreements))):
        out.update(_images(session, table, where))
    return out


def verify_record(session: Session, case_id: int,
                  heads: list[Head] | None = None) -> RecordReport:
    """Verify one case: the chain's links, the case row and its evidence against the replay
    of the chain, and the checkpointed ``heads`` of its chain (if given)."""
    row = session.execute(select(_CASES).where(_CASES.c.id == case_id)).mappings().first()
    events = list(session.scalars(
        select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
    if row is None:
        return RecordReport(case_id, str(case_id), len(events), problems=[
            Problem("case_row", "cases", f"case {case_id} has events but no row")])
    report = RecordReport(case_id, row["case_no"] or row["report_no"], len(events),
                          events[-1].hash if events else None)
    report.problems += verify_chain(row["report_no"], events)
    if not events:
        report.problems.append(Problem("chain", "events", "the case has no events at all"))
    expected = replay(events)
    actual = image(dict(row))
    head = actual.pop(HEAD_COLUMN, None)
    report.problems += compare_case(expected.case, actual)
    if events and head != events[-1].hash:
        report.problems.append(Problem("case_row", HEAD_COLUMN, f"cases.{HEAD_COLUMN} is "
                                       f"{head!r}, the chain ends with {events[-1].hash!r}"))
    report.problems += compare_rows(expected.rows, evidence_rows(session, case_id))
    for where, detail, seq in check_heads(heads or [], row["report_no"], events):
        report.problems.append(Problem("checkpoint", where, detail, seq))
    return report


def orphans(session: Session) -> list[Problem]:
    """Events and evidence rows that belong to no case (moved or left behind)."""
    problems = []
    cases = select(_CASES.c.id)
    events = cast(Table, Event.__table__)
    for case_id, seq in session.execute(select(events.c.case_id, events.c.seq)
                                        .where(events.c.case_id.not_in(cases))):
        problems.append(Problem("orphan", f"event {case_id}/{seq}",
                                f"event {seq} names case {case_id}, which does not exist", seq))
    parties = select(_PARTIES.c.id).where(_PARTIES.c.case_id.in_(cases))
    agreements = select(_AGREEMENTS.c.id).where(_AGREEMENTS.c.case_id.in_(cases))
    for table, where in ((_PARTIES, _PARTIES.c.case_id.not_in(cases)),
                         (_AGENTS, _AGENTS.c.party_id.not_in(parties)),
                         (_AGREEMENTS, _AGREEMENTS.c.case_id.not_in(cases)),
                         (_TERMS, _TERMS.c.agreement_id.not_in(agreements)),
                         (_SIGNATURES, _SIGNATURES.c.agreement_id.not_in(agreements))):
        for (row_id,) in session.execute(select(table.c.id).where(where)):
            key = row_key(str(table.name), row_id)
            problems.append(Problem("orphan", key, f"{key} belongs to no case"))
    return problems


def verify_all(session: Session, ledger: Ledger | None = None,
               case_ids: list[int] | None = None) -> tuple[list[RecordReport], list[Problem]]:
    """Verify every case (or ``case_ids``) against the checkpoints of ``ledger``; also
    report checkpointed cases that are gone, orphans, and problems of the checkpoint files."""
    ledger = ledger or Ledger()
    ids = case_ids if case_ids is not None else list(
        session.scalars(select(Case.id).order_by(Case.id)))
    reports = [verify_record(session, cid, ledger.heads.get(cid)) for cid in ids]
    general = [Problem("checkpoint", "checkpoints", p) for p in ledger.problems]
    if case_ids is None:
        present = set(ids)
        for cid, heads in sorted(ledger.heads.items()):
            if cid not in present:
                general.append(Problem("checkpoint", f"case {cid}",
                                       f"checkpoint {heads[-1].checkpoint} recorded case "
                                       f"{heads[-1].report_no}, which is gone from the database"))
        general += orphans(session)
    return reports, general
